"""Every metric of one saliency method: utility, randomization, agreement (tidy CSV)."""

from saliency_audit.jobs.metrics import method_metrics_job
from saliency_audit.logs import job
from saliency_audit.metrics import MetricParams

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    method_metrics_job(
        dataset=smk.wildcards.dataset,
        method=smk.wildcards.method,
        positives=smk.input.positives,
        masks=smk.input.masks,
        saliency=p.files["saliency"],
        randomization=p.files["randomization"],
        agreement=p.agreement,
        out_csv=smk.output.csv,
        out_segmentations=smk.output.segmentations,
        params=MetricParams(
            p.seed, p.topk_fraction, p.ssim_window, p.ssim_data_range, p.ranking_map
        ),
        random_pairs=p.random_pairs,
        log=log,
    )
