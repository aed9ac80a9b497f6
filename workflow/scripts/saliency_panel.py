"""Panel figure: a few positive test images and each method's map of one model."""

from saliency_audit.jobs.saliency import panel_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    panel_job(
        title=f"{smk.wildcards.dataset}: saliency maps of {smk.wildcards.model}",
        maps=dict(smk.params.maps),
        images=smk.input.images,
        masks=smk.input.masks,
        positives=smk.input.positives,
        n_images=smk.params.n_images,
        out=smk.output[0],
    )
