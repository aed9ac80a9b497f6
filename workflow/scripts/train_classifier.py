"""Train one classifier replicate (binary cross-entropy, one positive-class logit)."""

from saliency_audit.logs import job
from saliency_audit.models.jobs import train_classifier_job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    train_classifier_job(
        **dict(smk.input.items()),
        out_model=smk.output.model,
        out_history=smk.output.history,
        out_curve=smk.output.curve,
        arch=smk.params.arch,
        size=smk.params.size,
        training={**smk.params.training, "threads": smk.threads},
        seed=smk.params.seed,
        weights_path=smk.params.weights,
        title=f"{smk.wildcards.dataset}: {smk.wildcards.model}",
    )
