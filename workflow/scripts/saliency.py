"""Saliency maps of one model for one method (or every method): model loaded once."""

from saliency_audit.jobs.saliency import MapTask, saliency_job
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    # per model, the cheXlocalize protocol's maps and probabilities come from this job too
    proto = getattr(smk.params, "protocol", None)
    protocol = None
    if proto:
        protocol = dict(
            index=smk.input.index,
            split=smk.input.split,
            need=proto["need"],
            tasks=[MapTask(**t) for t in proto["tasks"]],
            out_probabilities=smk.output.probabilities,
        )
    saliency_job(
        model_path=smk.input.model,
        images=smk.input.images,
        positives=smk.input.positives,
        tasks=[MapTask(**t) for t in smk.params.tasks],
        size=smk.params.size,
        gradcam_layer=smk.params.layer,
        batch_size=smk.params.batch_size,
        explain=smk.params.explain,
        threads=smk.threads,
        log=log,
        protocol=protocol,
    )
