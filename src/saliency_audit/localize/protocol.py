"""Saliency maps -> segmentations -> scores, as cheXlocalize evaluates them.

Segmentation (cheXlocalize ``heatmap_to_segmentation.py``): each map is min-max normalised to
[0, 1] (a constant map becomes all zeros); a pixel is foreground when the normalised value is
strictly above the threshold. The threshold is one per (model, method), tuned to maximise
mIoU on the validation split's positive images over a grid (``tune_heatmap_threshold.py``:
0.2 .. 0.8), or Otsu's per map (the script's default), or cross-fitted on the test split
(2-fold, for datasets without validation positives).

Gating (``tune_probability_threshold.py``): the segmentation is blank when the classifier's
probability is below a cutoff, tuned on *every* validation image (negatives are where gating
helps) to maximise the full-dataset mIoU over a grid (0 .. 0.8). Ties go to the lowest value
of a grid, never to the test split: tuning functions see validation data only.

Evaluation slices (cheXlocalize ``eval.py``), per test image:

- ``positives``: images with ground truth; a blank prediction scores IoU 0.
- ``true_positives``: images with ground truth *and* a non-blank prediction (``eval.py``'s
  default ``--true_pos_only True``).
- ``all``: every test image; IoU is NaN where prediction and ground truth are both empty (a
  correct blank on a negative is not penalised) and 0 where a negative gets a segmentation.

Hit (pointing game) is scored on the images with ground truth of the slice, from the map (not
the segmentation), tied maxima sharing the hit. Precision, recall and specificity pool every
pixel of the slice's images (``precision_recall_specificity.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from saliency_audit.errors import InputError
from saliency_audit.metrics.localization import otsu_threshold_masks, two_folds

#: cheXlocalize's grids: segmentation thresholds (tune_heatmap_threshold.py) and probability
#: cutoffs (tune_probability_threshold.py)
THRESHOLD_GRID = tuple(round(0.2 + 0.1 * k, 1) for k in range(7))
PROBABILITY_GRID = tuple(round(0.1 * k, 1) for k in range(9))
SLICES = ("positives", "true_positives", "all")
THRESHOLDS = ("validation", "otsu", "cross_fit")


def normalize(maps) -> np.ndarray:
    """Each map min-max scaled to [0, 1] (float32); a constant map becomes all zeros."""
    x = np.asarray(maps, dtype=np.float32)
    if x.ndim != 3:
        raise InputError(f"maps must be a 3-D stack (n, H, W), got shape {x.shape}")
    if x.shape[0] == 0:
        return x.copy()
    flat = x.reshape(x.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - lo
    out = np.where(span > 0, (flat - lo) / np.where(span > 0, span, 1), 0)
    return out.reshape(x.shape).astype(np.float32)


def segment(maps, threshold: float | None) -> np.ndarray:
    """Binary segmentations of normalised maps: ``> threshold`` (compared in float32, the
    maps' precision, as the threshold was tuned), or Otsu's per map when ``threshold`` is None
    (the script's default). bool (n, H, W)."""
    norm = normalize(maps)
    if threshold is None:
        return otsu_threshold_masks(norm)
    return norm > np.float32(threshold)


def gate(segmentations: np.ndarray, probabilities, cutoff: float | None) -> np.ndarray:
    """Segmentations blanked where the probability is below ``cutoff`` (None: unchanged)."""
    seg = np.asarray(segmentations, dtype=bool)
    if cutoff is None:
        return seg
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    if p.shape[0] != seg.shape[0]:
        raise InputError(f"{p.shape[0]} probabilities for {seg.shape[0]} segmentations")
    return seg & (p >= cutoff)[:, None, None]


def slice_mask(has_gt, blank, slice_: str) -> np.ndarray:
    """Which images a slice scores, from whether each has ground truth and whether its
    segmentation is blank (module docstring)."""
    if slice_ not in SLICES:
        raise InputError(f"unknown evaluation slice {slice_!r} (one of {', '.join(SLICES)})")
    has_gt = np.asarray(has_gt, dtype=bool)
    if slice_ == "positives":
        return has_gt
    if slice_ == "true_positives":
        return has_gt & ~np.asarray(blank, dtype=bool)
    return np.ones(has_gt.shape, dtype=bool)


def iou_values(pred, gt, slice_: str) -> np.ndarray:
    """Per-image IoU under one evaluation slice (module docstring); NaN outside it, and NaN
    where prediction and ground truth are both empty."""
    p = np.asarray(pred, dtype=bool).reshape(len(pred), -1)
    g = np.asarray(gt, dtype=bool).reshape(len(gt), -1)
    if p.shape != g.shape:
        raise InputError(f"segmentations {p.shape} and ground truth {g.shape} differ in shape")
    inter = (p & g).sum(axis=1).astype(np.float64)
    union = (p | g).sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = inter / union  # 0 / 0: NaN
    return np.where(slice_mask(g.any(axis=1), ~p.any(axis=1), slice_), value, np.nan)


def pixel_rates(pred, gt, rows=None) -> dict[str, float]:
    """Precision, recall (sensitivity) and specificity of the pixels of the chosen images
    (``rows``: a boolean mask, default all), pooled; NaN where a denominator is zero."""
    p = np.asarray(pred, dtype=bool)
    g = np.asarray(gt, dtype=bool)
    if rows is not None:
        p, g = p[rows], g[rows]
    tp = float((p & g).sum())
    fp = float((p & ~g).sum())
    fn = float((~p & g).sum())
    tn = float((~p & ~g).sum())

    def ratio(a, b):
        return a / (a + b) if a + b > 0 else float("nan")

    return {"precision": ratio(tp, fp), "recall": ratio(tp, fn), "specificity": ratio(tn, fp)}


def _nanmean(values) -> float:
    """The mean of the non-NaN values; NaN (silently) when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def _best(grid: Sequence[float], scores: Sequence[float], what: str) -> float:
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).all():
        raise InputError(f"cannot tune the {what}: no validation image can be scored")
    # the first (lowest) grid value among the best; NaN scores never win
    return float(np.asarray(grid)[int(np.nanargmax(scores))])


def tune_segmentation_threshold(maps, gt, grid: Sequence[float] = THRESHOLD_GRID) -> float:
    """The grid threshold (ascending order, lowest of ties) maximising the mIoU of the
    normalised maps of the validation images with ground truth (a blank scores 0)."""
    grid = sorted(float(t) for t in grid)
    gt = np.asarray(gt, dtype=bool)
    norm = normalize(maps)
    scores = [_nanmean(iou_values(norm > np.float32(t), gt, "positives")) for t in grid]
    return _best(grid, scores, "segmentation threshold")


def tune_probability_cutoff(
    segmentations, gt, probabilities, grid: Sequence[float] = PROBABILITY_GRID
) -> float:
    """The grid cutoff (lowest of ties) maximising the full-dataset mIoU (slice ``all``) of
    the gated segmentations of every validation image."""
    grid = sorted(float(c) for c in grid)
    scores = []
    for c in grid:
        scores.append(_nanmean(iou_values(gate(segmentations, probabilities, c), gt, "all")))
    return _best(grid, scores, "probability cutoff")


def ensemble(stacks: Sequence[np.ndarray]) -> np.ndarray:
    """cheXlocalize's ``--model ensemble``: the mean of the replicates' normalised maps."""
    stacks = list(stacks)
    if not stacks:
        raise InputError("an ensemble needs at least one replicate's maps")
    shapes = {np.shape(s) for s in stacks}
    if len(shapes) != 1:
        raise InputError(f"replicate map stacks differ in shape: {sorted(shapes)}")
    total = np.zeros(stacks[0].shape, dtype=np.float64)
    for s in stacks:
        total += normalize(s)
    return (total / len(stacks)).astype(np.float32)


def cross_fit_segment(maps, gt, seed: int, grid: Sequence[float] = THRESHOLD_GRID):
    """Segmentations with a threshold tuned (as on validation) on the other half of the test
    images with ground truth, a seeded 2-fold split; returns (segmentations, thresholds)."""
    gt = np.asarray(gt, dtype=bool)
    n = len(gt)
    norm = normalize(maps)
    out = np.zeros(norm.shape, dtype=bool)
    thresholds = np.full(n, np.nan)
    for test, train in two_folds(n, seed):
        usable = train[gt[train].reshape(len(train), -1).any(axis=1)]
        if usable.size == 0 or test.size == 0:
            continue
        t = tune_segmentation_threshold(norm[usable], gt[usable], grid)
        out[test] = norm[test] > np.float32(t)
        thresholds[test] = t
    return out, thresholds


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) resampling indices with replacement, seeded; shared by the paired sides."""
    if n <= 0:
        return np.zeros((n_boot, 0), dtype=np.int64)
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _nanmeans(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    if idx.shape[1] == 0:
        return np.full(idx.shape[0], np.nan)
    sample = values[idx]
    counts = (~np.isnan(sample)).sum(axis=1)
    sums = np.nansum(sample, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _ci(draws: np.ndarray, level: float) -> tuple[float, float]:
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return (float("nan"), float("nan"))
    a = (1 - level) / 2
    lo, hi = np.quantile(draws, [a, 1 - a])
    return float(lo), float(hi)


def mean_ci(values, idx: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean of the non-NaN values, its percentile bootstrap CI over the resamples ``idx``
    (images resampled, NaNs skipped within each resample, as ``eval.py``) and n."""
    v = np.asarray(values, dtype=np.float64)
    n = int((~np.isnan(v)).sum())
    mean = _nanmean(v)
    lo, hi = _ci(_nanmeans(v, idx), level)
    return {"mean": mean, "lo": lo, "hi": hi, "n": n}


def compare(pred, bench, idx: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Paired comparison on the same resampled images: the difference ``pred - bench`` and
    cheXlocalize's percentage decrease ``(bench - pred) / bench`` x 100, each with its
    percentile bootstrap CI (``calculate_percentage_decrease.py``)."""
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(bench, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"paired values differ in length: {a.shape} vs {b.shape}")
    ma, mb = (
        float(np.nanmean(a)) if (~np.isnan(a)).any() else np.nan,
        (float(np.nanmean(b)) if (~np.isnan(b)).any() else np.nan),
    )
    da, db = _nanmeans(a, idx), _nanmeans(b, idx)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct_draws = np.where(db != 0, 100 * (db - da) / db, np.nan)
        pct = 100 * (mb - ma) / mb if mb else np.nan
    d_lo, d_hi = _ci(da - db, level)
    p_lo, p_hi = _ci(pct_draws, level)
    return {
        "value": ma,
        "benchmark_value": mb,
        "difference": ma - mb,
        "difference_lo": d_lo,
        "difference_hi": d_hi,
        "pct_decrease": float(pct),
        "pct_decrease_lo": p_lo,
        "pct_decrease_hi": p_hi,
    }
