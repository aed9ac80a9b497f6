"""Choose the N positive test images used by the randomization and repeatability tests, and
list all positive test images (the rows of every saliency map stack)."""

from saliency_audit.jobs.data import sample_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    sample_job(
        dataset=smk.wildcards.dataset,
        index=smk.input.index,
        split=smk.input.split,
        out_sample=smk.output.sample,
        out_positives=smk.output.positives,
        n=smk.params.n,
        seed=smk.params.seed,
    )
