"""Make (or read) the train/val/test split in the paper's ',Image_ID,Split' format."""

from saliency_audit.jobs.data import split_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    split_job(
        dataset=smk.wildcards.dataset,
        index=smk.input.index,
        given=smk.input.get("given"),
        out=smk.output[0],
        fractions=smk.params.fractions,
        seed=smk.params.seed,
    )
