"""Test-set predictions and AUROC with a bootstrap 95% CI of an imported (bring-your-own)
classifier (trained ones are evaluated by their training job)."""

from saliency_audit.jobs.models import evaluate_classifier_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    evaluate_classifier_job(
        model_path=smk.input.model,
        images=smk.input.images,
        index=smk.input.index,
        split=smk.input.split,
        out_predictions=smk.output.predictions,
        out_metrics=smk.output.metrics,
        size=smk.params.size,
        seed=smk.params.seed,
        n_boot=smk.params.n_boot,
        threads=smk.threads,
        backend=smk.params.backend,
    )
