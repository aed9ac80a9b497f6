"""Maps of every method under cascading / independent randomization steps of one model."""

from saliency_audit.jobs.saliency import MapTask, classifier_args, randomize_job
from saliency_audit.logs import job
from saliency_audit.models.randomize import Step

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    randomize_job(
        images=smk.input.images,
        positives=smk.input.positives,
        steps=[Step(s["name"], s["kind"], tuple(s["blocks"])) for s in smk.params.steps],
        tasks={step: [MapTask(**t) for t in ts] for step, ts in smk.params.tasks.items()},
        seed=smk.params.seed,
        log=log,
        **classifier_args(smk),
    )
