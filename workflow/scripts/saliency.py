"""Saliency maps of one model for one method (or every method): model loaded once."""

from saliency_audit.jobs.saliency import MapTask, classifier_args, saliency_job
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
        images=smk.input.images,
        positives=smk.input.positives,
        tasks=[MapTask(**t) for t in smk.params.tasks],
        log=log,
        protocol=protocol,
        sampled_only=smk.params.get("sampled_only", False),
        **classifier_args(smk),
    )
