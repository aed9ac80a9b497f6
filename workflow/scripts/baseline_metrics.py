"""Utility and agreement of the baselines: AVG mask, U-Net / RetinaNet replicates."""

from saliency_audit.jobs.metrics import baseline_metrics_job
from saliency_audit.logs import job
from saliency_audit.metrics import MetricParams

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    baseline_metrics_job(
        dataset=smk.wildcards.dataset,
        label=p.label,
        positives=smk.input.positives,
        masks=smk.input.masks,
        index=smk.input.index,
        split=smk.input.split,
        baselines=p.files,
        out_csv=smk.output[0],
        params=MetricParams(
            p.seed, p.topk_fraction, p.ssim_window, p.ssim_data_range, p.ranking_map
        ),
        log=log,
    )
