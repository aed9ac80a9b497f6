"""Marker and lesion shares of both benchmark classifiers' maps, verdicts, section, figure."""

from saliency_audit.jobs.trust import shortcut_benchmark_job
from saliency_audit.logs import job
from saliency_audit.metrics import MetricParams
from saliency_audit.stats import TestOptions

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    shortcut_benchmark_job(
        maps=dict(p.maps),
        data=dict(p.data),
        classifiers=dict(p.classifiers),
        ranking_map=p.ranking_map,
        params=MetricParams(
            p.seed, p.topk_fraction, p.ssim_window, p.ssim_data_range, p.ranking_map
        ),
        options=TestOptions(alpha=p.alpha, adjust=p.adjust, seed=p.seed),
        settings=dict(p.settings),
        out=dict(smk.output.items()),
        log=log,
    )
