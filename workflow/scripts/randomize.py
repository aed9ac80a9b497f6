"""Maps of every method under cascading / independent randomization steps of one model."""

from saliency_audit.jobs.saliency import MapTask, randomize_job
from saliency_audit.logs import job
from saliency_audit.models.randomize import randomization_steps

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    all_steps = {s.name: s for s in randomization_steps(smk.params.arch)}
    randomize_job(
        model_path=smk.input.model,
        arch=smk.params.arch,
        images=smk.input.images,
        positives=smk.input.positives,
        steps=[all_steps[name] for name in smk.params.steps],
        tasks={step: [MapTask(**t) for t in ts] for step, ts in smk.params.tasks.items()},
        size=smk.params.size,
        gradcam_layer=smk.params.layer,
        batch_size=smk.params.batch_size,
        explain=smk.params.explain,
        seed=smk.params.seed,
        threads=smk.threads,
        log=log,
    )
