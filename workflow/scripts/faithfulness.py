"""Deletion, insertion and ROAD curves of the primary model's maps against a random order."""

from saliency_audit.jobs.saliency import classifier_args
from saliency_audit.jobs.trust import faithfulness_job
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    faithfulness_job(
        dataset=smk.wildcards.dataset,
        model_name=p.model_name,
        images=smk.input.images,
        index=smk.input.index,
        split=smk.input.split,
        positives=smk.input.positives,
        maps=dict(p.maps),
        settings=dict(p.settings),
        ranking_map=p.ranking_map,
        seed=p.seed,
        out_csv=smk.output.csv,
        out_curves=smk.output.curves,
        out_figure=smk.output.figure,
        log=log,
        **classifier_args(smk),
    )
