"""Verdicts of the four trust tests and Tables 2-4 of one dataset."""

from saliency_audit.jobs.report import Design, stats_job
from saliency_audit.logs import job
from saliency_audit.stats import TestOptions

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    stats_job(
        dataset=smk.wildcards.dataset,
        metric_csvs=list(smk.input),
        design=Design(
            primary_model=p.primary,
            randomized_model=p.randomized,
            final_step=p.final_step,
            high_model=p.high,
            architectures=tuple(p.architectures) if p.architectures else None,
            utility_metric=p.utility_metric,
            data_randomized_model=p.data_randomized,
        ),
        options=TestOptions(alpha=p.alpha, adjust=p.adjust, seed=p.seed),
        n_bootstrap=p.n_bootstrap,
        out=dict(smk.output.items()),
        log=log,
    )
