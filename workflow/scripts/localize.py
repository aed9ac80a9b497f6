"""cheXlocalize's evaluation of one dataset: tuned thresholds, gating, ensembles, scores,
benchmarks, characteristics, cheXlocalize JSON files and the report section."""

from saliency_audit.jobs.localize import localize_job
from saliency_audit.logs import job
from saliency_audit.paths import LOCALIZE_TABLES

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    localize_job(
        dataset=smk.wildcards.dataset,
        finding=p.finding,
        positives=smk.input.positives,
        masks=smk.input.masks,
        index=smk.input.index,
        split=smk.input.split,
        models=p.models,
        ensembles=p.ensembles,
        benchmarks=p.benchmarks,
        human=p.human,
        settings={**p.settings, "seed": p.seed},
        primary=p.primary,
        out={
            **{name: smk.output[name] for name in LOCALIZE_TABLES},
            "section": smk.output.section,
            "figure": smk.output.figure,
            "ground_truth": smk.output.ground_truth,
        },
        out_segmentations=p.segmentations,
        log=log,
    )
