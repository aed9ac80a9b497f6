"""The paper's Figures 2-4, the randomization image panel and example overlays of one dataset."""

from saliency_audit.jobs.report import figures_job
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    figures_job(
        dataset=smk.wildcards.dataset,
        metric_csvs=list(smk.input.metrics),
        images=smk.input.images,
        masks=smk.input.masks,
        positives=smk.input.positives,
        primary_model=p.primary,
        primary_maps=p.maps["primary"],
        randomized_model=p.randomized,
        randomization_maps=p.maps["randomized"],
        high_model=p.high,
        utility_metric=p.utility_metric,
        n_examples=p.n_examples,
        out=dict(smk.output.items()),
        log=log,
    )
