"""Localization beyond the paper, after cheXlocalize: binarise maps, score the segmentation.

- Binarisation: Otsu's threshold per map (``skimage.filters.threshold_otsu``, 256 bins) or
  one fixed threshold for all maps, tuned to maximise mean IoU.  In both cases a pixel is
  foreground when its value is strictly greater than the threshold (cheXlocalize and
  scikit-image's convention), so a constant map gives an empty segmentation.
- Segmentations are stored as COCO run-length encodings (pycocotools), JSON-ready.
- ``iou``: intersection over union with the ground truth; ``pointing_hit``: the pointing
  game (is the map's maximum inside the ground truth? tied maxima share the hit).  An empty
  ground truth gives NaN, never a hit or a zero.
- ``bootstrap_ci``: percentile bootstrap confidence interval of a mean (1000 resamples).
"""

from __future__ import annotations

import numbers

import numpy as np
from pycocotools import mask as mask_utils
from skimage.filters import threshold_otsu

from saliency_audit.errors import InputError
from saliency_audit.metrics.utility import (
    _as_compute_float,
    _blocks,
    _map_block,
    _mask_block,
    _pair,
    _same_shape,
    _stack,
)

DEFAULT_GRID = np.linspace(0.05, 0.95, 19)


def _otsu_block(x: np.ndarray) -> np.ndarray:
    """Otsu's threshold of each row of a ``(m, pixels)`` block; NaN for a constant row."""
    out = np.full(x.shape[0], np.nan)
    for i, row in enumerate(x):
        if row.min() < row.max():
            out[i] = threshold_otsu(row)
    return out


def otsu_thresholds(maps) -> np.ndarray:
    """Otsu's threshold of each map (``skimage.filters.threshold_otsu``); NaN if constant."""
    maps = _stack(maps, "maps")
    out = np.empty(maps.shape[0])
    for sl in _blocks(maps.shape[0]):
        out[sl] = _otsu_block(_as_compute_float(_map_block(maps, sl)))
    return out


def otsu_threshold_masks(maps) -> np.ndarray:
    """Binary segmentations ``map > otsu_threshold(map)`` per map, bool (n, H, W).

    A constant map has no threshold and gives an all-False segmentation.
    """
    maps = _stack(maps, "maps")
    out = np.empty(maps.shape, dtype=bool)
    flat = out.reshape(maps.shape[0], -1) if maps.shape[0] else out  # an empty stack: empty
    for sl in _blocks(maps.shape[0]):
        x = _as_compute_float(_map_block(maps, sl))
        # float64 thresholds: the comparison scikit-image's ``image > threshold`` makes;
        # a NaN threshold (constant map) selects nothing
        flat[sl] = x > _otsu_block(x)[:, None]
    return out


def _check_threshold(threshold) -> np.float64:
    if not isinstance(threshold, numbers.Real) or not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number, got {threshold!r}")
    return np.float64(threshold)


def threshold_masks(maps, threshold: float) -> np.ndarray:
    """Binary segmentations ``map > threshold`` (compared in float64), bool (n, H, W)."""
    maps = _stack(maps, "maps")
    t = _check_threshold(threshold)
    out = np.zeros(maps.shape, dtype=bool)
    flat = out.reshape(maps.shape[0], -1) if maps.shape[0] else out  # an empty stack: empty
    for sl in _blocks(maps.shape[0]):
        flat[sl] = _map_block(maps, sl) > t  # a numpy float64 scalar: float64 comparison
    return out


def tune_threshold(maps, masks, grid=DEFAULT_GRID) -> float:
    """The threshold in ``grid`` maximising the mean IoU of ``map > threshold``.

    The mean runs over the images whose ground truth is not empty; among equal means the
    lowest threshold wins.  Tune on a split other than the one you report.
    """
    maps, masks = _pair(maps, masks)
    raw = np.asarray(grid, dtype=np.float64)
    if raw.ndim != 1 or raw.size == 0 or not np.isfinite(raw).all():
        raise InputError(f"grid must be a non-empty 1-D array of finite thresholds, got {raw}")
    grid = np.unique(raw)  # sorted ascending, so argmax picks the lowest of tied thresholds
    n_t = grid.size
    sums = np.zeros(n_t)
    n_used = 0
    for sl in _blocks(maps.shape[0]):
        x = _map_block(maps, sl)
        gt = _mask_block(masks, sl)
        m = x.shape[0]
        # level k = number of grid values strictly below the pixel: the pixel is in the
        # segmentation of threshold j exactly when j < k
        level = np.searchsorted(grid, x, side="left").astype(np.int64)
        flat = (level + (np.arange(m, dtype=np.int64) * (n_t + 1))[:, None]) * 2 + gt
        both = np.bincount(flat.ravel(), minlength=2 * m * (n_t + 1)).reshape(m, n_t + 1, 2)
        # pixels (and ground-truth pixels) at level > j, for j = 0 .. n_t - 1
        above = np.cumsum(both[:, ::-1], axis=1)[:, ::-1][:, 1:]
        pred = above[..., 0] + above[..., 1]
        inter = above[..., 1]
        gt_size = gt.sum(axis=1)
        keep = gt_size > 0
        union = pred + gt_size[:, None] - inter
        sums += (inter[keep] / union[keep]).sum(axis=0)
        n_used += int(keep.sum())
    if n_used == 0:
        raise InputError("cannot tune a threshold: every ground-truth mask is empty")
    return float(grid[int(np.argmax(sums / n_used))])


def encode_coco_rle(binary_masks) -> list[dict]:
    """COCO RLE per mask of a bool/0-1 stack (n, H, W): ``[{"size": [H, W], "counts": str}]``.

    ``pycocotools.mask.encode`` on a Fortran-ordered uint8 array; ``counts`` is decoded to
    ``str`` so the list can go straight to ``json.dumps``.
    """
    stack = _stack(binary_masks, "binary_masks")
    n = stack.shape[0]
    if n == 0:
        return []
    bits = np.concatenate([_mask_block(stack, sl, "binary_masks") for sl in _blocks(n)])
    fortran = np.asfortranarray(bits.reshape(stack.shape).transpose(1, 2, 0).astype(np.uint8))
    out = []
    for rle in mask_utils.encode(fortran):
        counts = rle["counts"]
        out.append(
            {
                "size": [int(v) for v in rle["size"]],
                "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
            }
        )
    return out


def decode_coco_rle(rles) -> np.ndarray:
    """Inverse of :func:`encode_coco_rle`: a list of COCO RLE dicts -> bool (n, H, W)."""
    if isinstance(rles, dict):
        raise InputError("decode_coco_rle expects a list of RLE dicts, got a single dict")
    rles = list(rles)
    if not rles:
        return np.zeros((0, 0, 0), dtype=bool)
    objs = []
    for i, rle in enumerate(rles):
        if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
            raise InputError(f"RLE {i} must be a dict with 'size' and 'counts', got {rle!r}")
        counts = rle["counts"]
        if isinstance(counts, str):
            counts = counts.encode("ascii")
        objs.append({"size": [int(v) for v in rle["size"]], "counts": counts})
    sizes = {tuple(o["size"]) for o in objs}
    if len(sizes) != 1:
        raise InputError(f"RLEs have different sizes {sorted(sizes)}; cannot stack them")
    return mask_utils.decode(objs).transpose(2, 0, 1).astype(bool)


def iou(pred, gt) -> np.ndarray:
    """Per-image intersection over union of binary stacks; NaN where ``gt`` is empty.

    An empty prediction against a non-empty ground truth scores 0.
    """
    pred = _stack(pred, "pred")
    gt = _stack(gt, "gt")
    _same_shape(pred, gt, "pred", "gt")
    out = np.empty(pred.shape[0])
    for sl in _blocks(pred.shape[0]):
        p = _mask_block(pred, sl, "pred")
        g = _mask_block(gt, sl, "gt")
        inter = (p & g).sum(axis=1)
        union = (p | g).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[sl] = np.where(g.any(axis=1), inter / union, np.nan)
    return out


def iou_otsu(maps, masks, ctx) -> np.ndarray:
    """IoU of each map's Otsu segmentation (kept in ``ctx.cache["otsu"]``) with the mask."""
    return iou(ctx.shared("otsu", lambda: otsu_threshold_masks(maps)), masks)


def two_folds(n: int, seed: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The seeded 2-fold split of ``n`` images: ``((test, train), (train, test))`` index
    arrays, so every image is scored once with what the other half tuned."""
    order = np.random.default_rng(seed).permutation(n)
    halves = (order[: n // 2], order[n // 2 :])
    return (halves, halves[::-1])


def cross_fitted_iou(maps, masks, seed: int) -> np.ndarray:
    """IoU at one threshold tuned (max mean IoU) on the other half of the images: 2-fold
    cross-fitting with a seeded split, so no image is scored with a threshold tuned on it."""
    n = maps.shape[0]
    out = np.full(n, np.nan)
    if n < 2:
        return out
    for test, train in two_folds(n, seed):
        if not masks[train].any():
            continue
        t = tune_threshold(maps[train], masks[train])
        out[test] = iou(threshold_masks(maps[test], t), masks[test])
    return out


def iou_tuned(maps, masks, ctx) -> np.ndarray:
    """:func:`cross_fitted_iou` with the context's seed."""
    return cross_fitted_iou(maps, masks, ctx.params.seed)


def pointing_hit(maps, masks, ctx=None) -> np.ndarray:
    """Pointing game per image: does the map's maximum lie in the mask? In [0, 1].

    Ties share: when several pixels hold the maximum, the hit is the share of them inside the
    mask (the expected hit when the tie is broken at random), never decided by pixel order;
    a unique maximum scores 1.0 or 0.0. An empty mask gives NaN, never a hit.
    """
    maps, masks = _pair(maps, masks)
    out = np.empty(maps.shape[0])
    for sl in _blocks(maps.shape[0]):
        x = _as_compute_float(_map_block(maps, sl))
        gt = _mask_block(masks, sl)
        top = x == x.max(axis=1, keepdims=True)
        hit = (top & gt).sum(axis=1) / top.sum(axis=1)
        out[sl] = np.where(gt.any(axis=1), hit, np.nan)
    return out


def bootstrap_ci(
    values, n_boot: int = 1000, seed=0, level: float = 0.95
) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the mean of the non-NaN ``values`` and its percentile bootstrap CI.

    ``n_boot`` resamples with replacement drawn with ``numpy.random.default_rng(seed)``;
    ``lo``/``hi`` are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
    resampled means.  All NaN (or no values) gives ``(nan, nan, nan)``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise InputError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0 < level < 1:
        raise InputError(f"level must lie strictly between 0 and 1, got {level!r}")
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    batch = max(1, 2_000_000 // v.size)
    for start in range(0, n_boot, batch):
        stop = min(start + batch, n_boot)
        idx = rng.integers(0, v.size, size=(stop - start, v.size))
        means[start:stop] = v[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(v.mean()), float(lo), float(hi))
