"""Panel figure: a few positive test images and each method's map of one model."""

from saliency_audit import io, plots
from saliency_audit.logs import job
from saliency_audit.saliency.jobs import read_rows

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    rows = read_rows(smk.input.positives)
    k = min(smk.params.n_images, len(rows))
    chosen = rows["index"].to_numpy()[:k]
    images = io.load_stack(smk.input.images)[chosen]
    masks = io.load_stack(smk.input.masks)[chosen]
    paths = zip(smk.params.methods, smk.input.maps, strict=True)
    maps = {m: io.load_stack(p)[:k] for m, p in paths}
    plots.method_panel(
        images,
        maps,
        rows["image_id"].tolist()[:k],
        smk.output[0],
        title=f"{smk.wildcards.dataset}: saliency maps of {smk.wildcards.model}",
        masks=masks,
    )
    log.info("panel of %d images x %d methods", k, len(maps))
