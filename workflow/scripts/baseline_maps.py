"""Score maps of a localisation baseline on the test images (float16 stack)."""

from saliency_audit.logs import job
from saliency_audit.models.jobs import baseline_maps_job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    baseline_maps_job(
        kind=smk.params.kind,
        model_path=smk.input.model,
        images=smk.input.images,
        index=smk.input.index,
        split=smk.input.split,
        out_maps=smk.output.maps,
        out_rows=smk.output.rows,
        size=smk.params.size,
        params=dict(smk.params.params),
        seed=smk.params.seed,
        threads=smk.threads,
    )
