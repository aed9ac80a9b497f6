"""Per verdict of one dataset: how many reruns with other training seeds agree."""

from saliency_audit.jobs.report import stability_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    stability_job(
        dataset=smk.wildcards.dataset,
        main=smk.input.main,
        replicas=list(smk.input.replicas),
        out=dict(smk.output.items()),
    )
