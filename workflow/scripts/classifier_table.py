"""Collect every classifier's test AUROC of one dataset into one table."""

from saliency_audit.jobs.models import classifier_table_job
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    table = classifier_table_job(
        metrics=dict(smk.params.metrics), dataset=smk.wildcards.dataset, out_csv=smk.output[0]
    )
    log.info("\n%s", table.to_string(index=False))
