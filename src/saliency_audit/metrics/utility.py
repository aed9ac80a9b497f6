"""Pixel utility of a saliency map: how well its values rank the lesion pixels.

Per image, the map's pixel values score the pixels of the ground-truth mask (or box mask):

- ``auprc``: average precision, the step-function area under the precision-recall curve,
  equal to :func:`sklearn.metrics.average_precision_score` (to floating-point rounding).
- ``auprc_trapz``: the trapezoidal area under the same curve, the variant the paper's code
  used; equal to ``sklearn.metrics.auc(recall, precision)`` on the output of
  ``precision_recall_curve``, i.e. the curve through one point per distinct map value plus
  the end point ``(recall 0, precision 1)``, joined by straight lines.  Linear interpolation
  of a PR curve is optimistic where precision rises with recall: a constant map gets
  ``(1 + prevalence) / 2`` instead of AP's prevalence.
- ``auroc``: area under the ROC curve, equal to :func:`sklearn.metrics.roc_auc_score`
  (ties count one half).

Pixels with the same map value form one threshold, exactly as in scikit-learn.  An image
whose mask has no positive pixel gets NaN for every metric; a mask with no negative pixel
gets NaN for AUROC.

Speed: images are processed in blocks.  Maps whose values are exactly representable in
float16 (the on-disk format) are bucketed by their 16-bit pattern with one ``bincount``, no
sort at all; other maps are sorted once per image.  Either way each block is reduced to
per-value counts of (pixels, positive pixels) and the metrics are cumulative sums over them.

This module also holds the private input checks and block helpers the other metric modules
share.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from saliency_audit.errors import InputError

#: Images per vectorised block: big enough to amortise numpy overheads, small enough that a
#: block of 320x320 maps with its temporaries stays in the tens of megabytes.
BLOCK = 32

UTILITY_METRICS = ("auprc", "auprc_trapz", "auroc")


# ----------------------------------------------------------------------------- input checks
def _stack(x, name: str) -> np.ndarray:
    """``x`` as a 3-D numeric array ``(n, H, W)`` (memory maps stay memory maps)."""
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.ndim != 3:
        raise InputError(f"{name} must be a 3-D stack (n, H, W), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def _same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise InputError(f"{name_a} shape {a.shape} does not match {name_b} shape {b.shape}")


def _pair(maps, masks, maps_name: str = "maps", masks_name: str = "masks"):
    maps = _stack(maps, maps_name)
    masks = _stack(masks, masks_name)
    _same_shape(maps, masks, maps_name, masks_name)
    return maps, masks


def _blocks(n: int, size: int = BLOCK) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _map_block(maps: np.ndarray, sl: slice, name: str = "maps") -> np.ndarray:
    """Images ``sl`` of a map stack as ``(m, H*W)`` floats (float16 kept), all finite."""
    x = np.asarray(maps[sl])
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    x = x.reshape(x.shape[0], -1)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        bad = sl.start + int(np.flatnonzero(~finite)[0])
        raise InputError(f"{name}: image {bad} contains NaN or infinite values")
    return x


def _mask_block(masks: np.ndarray, sl: slice, name: str = "masks") -> np.ndarray:
    """Images ``sl`` of a mask stack as ``(m, H*W)`` bool; any non-zero value is inside."""
    m = np.asarray(masks[sl])
    m = m.reshape(m.shape[0], -1)
    if m.dtype == bool:
        return m
    if m.dtype.kind == "f":
        binary = ((m == 0) | (m == 1)).all(axis=1)
        if not binary.all():
            bad = sl.start + int(np.flatnonzero(~binary)[0])
            raise InputError(f"{name}: image {bad} is a float mask with values other than 0/1")
    return m != 0


def _as_compute_float(x: np.ndarray) -> np.ndarray:
    """float16 -> float32 (exact); other floats unchanged."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


# --------------------------------------------------------------------- per-value bucketing
def _float16_exact(x: np.ndarray) -> np.ndarray | None:
    """``x`` as float16 when every value is exactly representable, else None."""
    if x.dtype == np.float16:
        return x
    with np.errstate(over="ignore"):
        h = x.astype(np.float16)
    return h if np.array_equal(h, x) else None


def _float16_bins(h: np.ndarray) -> tuple[np.ndarray, int]:
    """Order-preserving bin index per pixel from the float16 bit pattern (ties share a bin)."""
    bits = h.view(np.uint16).copy()
    bits[bits == 0x8000] = 0  # -0.0 == +0.0
    neg = (bits & 0x8000) != 0
    key = np.where(neg, ~bits, bits | np.uint16(0x8000)).astype(np.int64)
    lo, hi = int(key.min()), int(key.max())
    return key - lo, hi - lo + 1


def _value_bins(x: np.ndarray) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Bin index per pixel, ascending with the value, equal values sharing one bin.

    Returns ``(bins, n_bins, order)``.  When ``order`` is None the bins are aligned with the
    pixels of ``x``; otherwise they are aligned with ``take_along_axis(x, order, 1)`` (the
    pixels sorted by value) and ``order`` maps them back.
    """
    h = _float16_exact(x)
    if h is not None:
        bins, nb = _float16_bins(h)
        return bins, nb, None
    order = np.argsort(x, axis=1)
    v = np.take_along_axis(x, order, axis=1)
    bins = np.zeros(v.shape, dtype=np.int64)
    np.cumsum(v[:, 1:] != v[:, :-1], axis=1, out=bins[:, 1:])
    return bins, x.shape[1], order


def _grouped_counts(x: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, pixel counts and inside-mask counts per distinct value, ascending.

    Both outputs are ``(m, G)`` int64; a group (column) may be empty, which changes no
    cumulative sum, so the metrics below can ignore it.
    """
    m = x.shape[0]
    bins, nb, order = _value_bins(x)
    lab = inside if order is None else np.take_along_axis(inside, order, axis=1)
    flat = (bins + (np.arange(m, dtype=np.int64) * nb)[:, None]) * 2 + lab
    both = np.bincount(flat.ravel(), minlength=2 * m * nb).reshape(m, nb, 2)
    pos = both[:, :, 1]
    return both[:, :, 0] + pos, pos


def _utility_from_counts(cnt: np.ndarray, pos: np.ndarray, metrics: Sequence[str]) -> dict:
    """The utility metrics of each row from its per-value (ascending) counts."""
    n_pix = cnt.sum(axis=1, keepdims=True).astype(np.float64)
    n_pos = pos.sum(axis=1, keepdims=True).astype(np.float64)
    s = np.cumsum(cnt, axis=1) - cnt  # pixels below the group
    e = s + cnt  # pixels up to and including the group
    cs = np.cumsum(pos, axis=1) - pos  # positives below the group
    ce = cs + pos
    w = pos.astype(np.float64)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        # precision at the threshold "value >= this group's value"
        prec = (n_pos - cs) / np.maximum(n_pix - s, 1)
        if "auprc" in metrics:
            ap = (w * prec).sum(axis=1) / n_pos[:, 0]
            out["auprc"] = np.where(n_pos[:, 0] > 0, ap, np.nan)
        if "auprc_trapz" in metrics:
            # precision at the next higher threshold; 1 at the curve's end point (recall 0)
            prec_up = np.where(e < n_pix, (n_pos - ce) / np.maximum(n_pix - e, 1), 1.0)
            tz = (w * (prec + prec_up)).sum(axis=1) / (2 * n_pos[:, 0])
            out["auprc_trapz"] = np.where(n_pos[:, 0] > 0, tz, np.nan)
        if "auroc" in metrics:
            neg_below = s - cs
            neg_tied = (e - s) - (ce - cs)
            u = (w * (neg_below + 0.5 * neg_tied)).sum(axis=1)
            n_neg = n_pix[:, 0] - n_pos[:, 0]
            auc = u / (n_pos[:, 0] * n_neg)
            out["auroc"] = np.where((n_pos[:, 0] > 0) & (n_neg > 0), auc, np.nan)
    return out


# ------------------------------------------------------------------------------ public API
def utility_scores(maps, masks, metrics: Sequence[str] = UTILITY_METRICS) -> dict[str, np.ndarray]:
    """Per-image pixel utility of ``maps`` (n, H, W) against binary ``masks`` (n, H, W).

    ``metrics`` is any of ``"auprc"`` (average precision), ``"auprc_trapz"`` (trapezoidal
    area under the PR curve) and ``"auroc"``; returns ``{metric: (n,) float64}`` in the
    given order, NaN where undefined (empty mask; AUROC also for a mask covering the image).
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in UTILITY_METRICS]
    if unknown or not metrics:
        raise InputError(f"unknown utility metric(s) {unknown}; choose from {UTILITY_METRICS}")
    maps, masks = _pair(maps, masks)
    n = maps.shape[0]
    out = {m: np.full(n, np.nan) for m in metrics}
    for sl in _blocks(n):
        cnt, pos = _grouped_counts(_map_block(maps, sl), _mask_block(masks, sl))
        for name, vals in _utility_from_counts(cnt, pos, metrics).items():
            out[name][sl] = vals
    return out


def _one(name: str, maps, masks, ctx) -> np.ndarray:
    """Metric ``name`` alone, or from all three computed once per context."""
    if ctx is None:
        return utility_scores(maps, masks, (name,))[name]
    return ctx.shared("utility", lambda: utility_scores(maps, masks))[name]


def average_precision(maps, masks, ctx=None) -> np.ndarray:
    """Per-image average precision (as ``sklearn.metrics.average_precision_score``)."""
    return _one("auprc", maps, masks, ctx)


def auprc_trapezoid(maps, masks, ctx=None) -> np.ndarray:
    """Per-image trapezoidal area under the precision-recall curve.

    Equals ``sklearn.metrics.auc(recall, precision)`` with ``precision, recall, _ =
    precision_recall_curve(mask, map)``: the paper's variant of AUPRC.
    """
    return _one("auprc_trapz", maps, masks, ctx)


def pixel_auroc(maps, masks, ctx=None) -> np.ndarray:
    """Per-image pixel AUROC (as ``sklearn.metrics.roc_auc_score``, ties count 1/2)."""
    return _one("auroc", maps, masks, ctx)
