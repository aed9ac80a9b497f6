"""Generate a synthetic look-alike of a real dataset layout (the dataset's format)."""

from saliency_audit.jobs.data import synthesize_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    synthesize_job(
        fmt=smk.params.fmt, out_dir=smk.output[0], params=smk.params.synthetic, seed=smk.params.seed
    )
