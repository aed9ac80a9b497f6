"""The paper's Figures 2-4, the randomization image panel and example overlays of one dataset."""

from saliency_audit.logs import job
from saliency_audit.report_jobs import figures_job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    methods = list(smk.params.methods)
    randomized = iter(smk.input.randomized)
    layout = {step: {m: next(randomized) for m in methods} for step in smk.params.cascade}
    figures_job(
        dataset=smk.wildcards.dataset,
        metric_csvs=list(smk.input.metrics),
        images=smk.input.images,
        masks=smk.input.masks,
        positives=smk.input.positives,
        primary_model=smk.params.primary,
        primary_maps=dict(zip(methods, smk.input.primary, strict=True)),
        randomized_model=smk.params.randomized,
        randomization_maps=layout,
        high_model=smk.params.high,
        utility_metric=smk.params.utility_metric,
        n_examples=smk.params.n_examples,
        out=dict(smk.output.items()),
        log=log,
    )
