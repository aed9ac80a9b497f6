"""Metric stage: per-image scores of saliency maps, all as tidy long tables.

Metric families (each function takes stacks ``(n, H, W)`` and returns ``(n,)`` float64, NaN
where undefined, e.g. for an empty ground truth):

- utility (``utility``): pixel AUPRC as average precision and as the paper's trapezoidal
  area, and pixel AUROC, of a map against the lesion mask or box mask.
- similarity (``similarity``): SSIM (scikit-image, 7-pixel window) and Spearman rank
  correlation between two maps of one image, for cascading randomization, repeatability and
  reproducibility; the randomization baseline from seeded random pairs of different images.
- localization (``localization``, after cheXlocalize): Otsu or tuned-threshold binary
  segmentation stored as COCO RLE, IoU, pointing-game hit, percentile bootstrap CIs.
- attribution (``attribution``): relevance mass accuracy, relevance rank accuracy, top-k
  intersection.
- tidy tables (``tidy``): columns ``dataset, model, method, step, image_id, metric, value``.

Every metric the jobs write is registered in :data:`saliency_audit.vocabulary.METRICS` (name,
family, direction, label, unit, function); :func:`score` computes a list of them for one pair
of stacks through a shared :class:`MetricContext`.
"""

from saliency_audit.metrics.attribution import (
    default_topk,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    topk_intersection,
)
from saliency_audit.metrics.context import MetricContext, MetricParams, score, score_maps
from saliency_audit.metrics.localization import (
    bootstrap_ci,
    cross_fitted_iou,
    decode_coco_rle,
    encode_coco_rle,
    iou,
    otsu_threshold_masks,
    otsu_thresholds,
    pointing_hit,
    threshold_masks,
    tune_threshold,
)
from saliency_audit.metrics.similarity import (
    random_pair_baseline,
    random_pairs,
    similarity_scores,
    spearman,
    ssim,
)
from saliency_audit.metrics.tidy import COLUMNS, concat_tidy, empty_tidy, tidy_frame
from saliency_audit.metrics.utility import (
    UTILITY_METRICS,
    auprc_trapezoid,
    average_precision,
    pixel_auroc,
    utility_scores,
)

__all__ = [
    "COLUMNS",
    "MetricContext",
    "MetricParams",
    "score",
    "score_maps",
    "cross_fitted_iou",
    "UTILITY_METRICS",
    "auprc_trapezoid",
    "average_precision",
    "bootstrap_ci",
    "concat_tidy",
    "decode_coco_rle",
    "default_topk",
    "empty_tidy",
    "encode_coco_rle",
    "iou",
    "otsu_threshold_masks",
    "otsu_thresholds",
    "pixel_auroc",
    "pointing_hit",
    "random_pair_baseline",
    "random_pairs",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "similarity_scores",
    "spearman",
    "ssim",
    "threshold_masks",
    "tidy_frame",
    "topk_intersection",
    "tune_threshold",
    "utility_scores",
]
