"""Every metric of one saliency method: utility, randomization, agreement (tidy CSV)."""

from saliency_audit.logs import job
from saliency_audit.metric_jobs import method_metrics_job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    method_metrics_job(
        dataset=smk.wildcards.dataset,
        method=smk.wildcards.method,
        positives=smk.input.positives,
        masks=smk.input.masks,
        saliency=dict(zip(smk.params.models, smk.input.saliency, strict=True)),
        randomization=smk.params.randomization,
        agreement=smk.params.agreement,
        out_csv=smk.output.csv,
        out_segmentations=smk.output.segmentations,
        ssim_window=smk.params.ssim_window,
        ssim_data_range=smk.params.ssim_data_range,
        random_pairs=smk.params.random_pairs,
        topk_fraction=smk.params.topk_fraction,
        seed=smk.params.seed,
        log=log,
    )
