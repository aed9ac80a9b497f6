"""Utility and agreement of the baselines: AVG mask, U-Net / RetinaNet replicates."""

from saliency_audit.logs import job
from saliency_audit.metric_jobs import baseline_metrics_job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    baseline_metrics_job(
        dataset=smk.wildcards.dataset,
        label=smk.params.label,
        positives=smk.input.positives,
        masks=smk.input.masks,
        index=smk.input.index,
        split=smk.input.split,
        baselines={
            m: (maps, rows)
            for m, maps, rows in zip(smk.params.models, smk.input.maps, smk.input.rows, strict=True)
        },
        out_csv=smk.output[0],
        ssim_window=smk.params.ssim_window,
        ssim_data_range=smk.params.ssim_data_range,
        topk_fraction=smk.params.topk_fraction,
        seed=smk.params.seed,
        log=log,
    )
