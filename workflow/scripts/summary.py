"""results/report/summary.md: one scorecard per dataset with the figures."""

from saliency_audit.jobs.report import summary_job
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    summary_job(
        verdicts=dict(smk.params.verdicts),
        by_model=dict(smk.params.by_model),
        figures=dict(smk.params.figures),
        settings=dict(smk.params.settings),
        classifiers=dict(smk.params.classifiers),
        stability=dict(smk.params.stability) if smk.params.stability else None,
        data=dict(smk.params.data),
        localize=dict(smk.params.localize),
        localize_figures=dict(smk.params.localize_figures),
        trust_figures=dict(smk.params.trust_figures),
        shortcut=dict(smk.params.shortcut),
        out=smk.output[0],
        log=log,
    )
