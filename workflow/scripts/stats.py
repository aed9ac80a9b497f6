"""Verdicts of the four trust tests and Tables 2-4 of one dataset."""

from saliency_audit.logs import job
from saliency_audit.report_jobs import stats_job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    stats_job(
        dataset=smk.wildcards.dataset,
        metric_csvs=list(smk.input),
        primary_model=smk.params.primary,
        randomized_model=smk.params.randomized,
        high_model=smk.params.high,
        utility_metric=smk.params.utility_metric,
        alpha=smk.params.alpha,
        adjust=smk.params.adjust,
        n_bootstrap=smk.params.n_bootstrap,
        seed=smk.params.seed,
        out=dict(smk.output.items()),
        log=log,
    )
