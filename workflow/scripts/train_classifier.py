"""Train one classifier replicate (binary cross-entropy, one positive-class logit), then
predict the test split with the model still in memory (AUROC with a bootstrap 95% CI)."""

from saliency_audit.jobs.models import train_classifier_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    train_classifier_job(
        images=smk.input.images,
        index=smk.input.index,
        split=smk.input.split,
        out_model=smk.output.model,
        out_history=smk.output.history,
        out_curve=smk.output.curve,
        out_predictions=smk.output.predictions,
        out_metrics=smk.output.metrics,
        arch=smk.params.arch,
        size=smk.params.size,
        training={**smk.params.training, "threads": smk.threads},
        seed=smk.params.seed,
        eval_seed=smk.params.eval_seed,
        n_boot=smk.params.n_boot,
        weights_path=smk.input.get("weights"),
        init=smk.params.init,
        title=smk.params.get("title")
        or f"{smk.wildcards.dataset}: {smk.wildcards.model}"
        + (" (labels permuted)" if smk.params.get("permute_seed") is not None else ""),
        permute_seed=smk.params.get("permute_seed"),
    )
