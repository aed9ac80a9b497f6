"""Convert a dataset's images and annotations to model-ready stacks and an index."""

from saliency_audit.jobs.data import convert_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    convert_job(
        dataset=smk.wildcards.dataset,
        fmt=p.fmt,
        root=p.root,
        settings=dict(p.settings),
        out=dict(smk.output.items()),
        size=p.size,
        salt=p.salt,
        skip_unreadable=p.skip_unreadable,
        allowed_modalities=p.allowed_modalities,
        threads=smk.threads,
    )
