"""Train one localisation baseline replicate (U-Net for masks, RetinaNet for boxes) and write
its score maps of the test images."""

from saliency_audit.jobs.models import baseline_maps_job, train_baseline_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    inputs = dict(smk.input.items())
    train_baseline_job(
        kind=smk.params.kind,
        **inputs,
        out_model=smk.output.model,
        out_history=smk.output.history,
        out_curve=smk.output.curve,
        size=smk.params.size,
        params=dict(smk.params.params),
        seed=smk.params.seed,
        threads=smk.threads,
        title=f"{smk.wildcards.dataset}: {smk.wildcards.baseline}",
    )
    baseline_maps_job(
        kind=smk.params.kind,
        model_path=smk.output.model,
        images=inputs["images"],
        index=inputs["index"],
        split=inputs["split"],
        out_maps=smk.output.maps,
        out_rows=smk.output.rows,
        size=smk.params.size,
        params=dict(smk.params.params),
        seed=smk.params.maps_seed,
        configure=False,
    )
