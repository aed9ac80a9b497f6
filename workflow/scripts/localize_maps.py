"""Maps of the further images cheXlocalize's protocol needs, and the classifier's
probabilities of every validation and test image (one model, loaded once)."""

from saliency_audit.jobs.localize import localize_maps_job
from saliency_audit.jobs.saliency import MapTask, classifier_args
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    proto = smk.params.protocol
    localize_maps_job(
        images=smk.input.images,
        index=smk.input.index,
        split=smk.input.split,
        need=proto["need"],
        tasks=[MapTask(**t) for t in proto["tasks"]],
        out_probabilities=smk.output.probabilities,
        classifier=classifier_args(smk),
        log=log,
    )
