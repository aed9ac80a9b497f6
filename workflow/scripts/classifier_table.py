"""Collect every classifier's test AUROC of one dataset into one table."""

from saliency_audit.logs import job
from saliency_audit.models.jobs import classifier_table_job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    table = classifier_table_job(
        metrics=list(smk.input),
        models=list(smk.params.models),
        dataset=smk.wildcards.dataset,
        out_csv=smk.output[0],
    )
    log.info("\n%s", table.to_string(index=False))
