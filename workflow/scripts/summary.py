"""results/report/summary.md: one scorecard per dataset with the figures."""

from saliency_audit.logs import job
from saliency_audit.report_jobs import summary_job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    k = smk.params.n_figures
    figures = {
        ds: list(smk.input.figures)[i * k : (i + 1) * k] for i, ds in enumerate(smk.params.datasets)
    }
    summary_job(
        datasets=list(smk.params.datasets),
        verdicts=list(smk.input.verdicts),
        by_model=list(smk.input.by_model),
        figures=figures,
        out=smk.output[0],
        log=log,
    )
