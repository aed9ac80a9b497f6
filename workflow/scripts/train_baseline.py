"""Train one localisation baseline replicate: U-Net (masks) or RetinaNet (boxes)."""

from saliency_audit.logs import job
from saliency_audit.models.jobs import train_baseline_job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    train_baseline_job(
        kind=smk.params.kind,
        **dict(smk.input.items()),
        out_model=smk.output.model,
        out_history=smk.output.history,
        out_curve=smk.output.curve,
        size=smk.params.size,
        params=dict(smk.params.params),
        seed=smk.params.seed,
        threads=smk.threads,
        title=f"{smk.wildcards.dataset}: {smk.wildcards.baseline}",
    )
