"""Table 1: the saliency methods as run, from the primary model's map sidecars."""

from saliency_audit.jobs.report import methods_table_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    methods_table_job(
        dataset=smk.wildcards.dataset,
        model=smk.params.model,
        sidecars=dict(smk.params.sidecars),
        out=dict(smk.output.items()),
    )
