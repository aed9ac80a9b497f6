"""Attribution-mass metrics: how much of the map's relevance falls on the lesion.

- ``relevance_mass_accuracy`` (Arras et al., 2022): the map's total inside the mask divided
  by its total over the image.  Maps are expected non-negative (ours lie in [0, 1]).
- ``relevance_rank_accuracy`` (Arras et al., 2022): with ``K`` the mask's size, the fraction
  of the ``K`` highest-valued pixels that lie inside the mask.
- ``topk_intersection`` (Zhou et al., 2022): the fraction of the ``k`` highest-valued pixels
  inside the mask, for one ``k`` for all images (default 5% of the pixels, rounded).

Ties at the top-``k`` boundary are shared, not broken by pixel order: if the ``k``-th
highest value is held by ``t`` pixels of which ``t_in`` lie in the mask and only ``r`` of
those ``t`` fit into the top ``k``, they count ``r * t_in / t`` (the expectation over random
tie-breaking).  A constant map thus scores the mask's share of the image, wherever the mask
is.  An empty mask gives NaN, as does a map summing to zero for relevance mass.
"""

from __future__ import annotations

import numbers

import numpy as np

from saliency_audit.errors import InputError
from saliency_audit.metrics.utility import _blocks, _grouped_counts, _map_block, _mask_block, _pair

DEFAULT_TOPK_FRACTION = 0.05


def relevance_mass_accuracy(maps, masks, ctx=None) -> np.ndarray:
    """Per image: sum of the map inside the mask / sum of the map; NaN if undefined."""
    maps, masks = _pair(maps, masks)
    out = np.empty(maps.shape[0])
    for sl in _blocks(maps.shape[0]):
        x = _map_block(maps, sl).astype(np.float64)
        gt = _mask_block(masks, sl)
        total = x.sum(axis=1)
        inside = np.where(gt, x, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[sl] = np.where(gt.any(axis=1) & (total != 0), inside / total, np.nan)
    return out


def _top_share(cnt: np.ndarray, pos: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Fraction of each row's ``k`` highest pixels inside the mask, ties shared.

    ``cnt``/``pos``: per-value pixel and inside-mask counts, ascending (from
    ``_grouped_counts``); ``k``: (m,) ints in ``[1, pixels]``.
    """
    rows = np.arange(cnt.shape[0])
    at_or_above = np.cumsum(cnt[:, ::-1], axis=1)[:, ::-1]  # pixels with value >= group's
    pos_at_or_above = np.cumsum(pos[:, ::-1], axis=1)[:, ::-1]
    # the group holding the k-th highest pixel: the last one with >= k pixels at or above it
    j = (at_or_above >= k[:, None]).sum(axis=1) - 1
    tied = cnt[rows, j]
    tied_in = pos[rows, j]
    above = at_or_above[rows, j] - tied
    above_in = pos_at_or_above[rows, j] - tied_in
    return (above_in + (k - above) * tied_in / tied) / k


def relevance_rank_accuracy(maps, masks, ctx=None) -> np.ndarray:
    """Per image: fraction of the top-``K`` map pixels in the mask, ``K`` = mask size."""
    maps, masks = _pair(maps, masks)
    out = np.empty(maps.shape[0])
    for sl in _blocks(maps.shape[0]):
        gt = _mask_block(masks, sl)
        cnt, pos = _grouped_counts(_map_block(maps, sl), gt)
        k = gt.sum(axis=1)
        share = _top_share(cnt, pos, np.maximum(k, 1))
        out[sl] = np.where(k > 0, share, np.nan)
    return out


def default_topk(n_pixels: int, fraction: float = DEFAULT_TOPK_FRACTION) -> int:
    """``round(fraction * n_pixels)``, at least 1: 5120 for a 320x320 map."""
    return max(1, int(round(fraction * n_pixels)))


def topk_intersection(maps, masks, k: int | None = None) -> np.ndarray:
    """Per image: fraction of the ``k`` highest map pixels inside the mask; NaN if empty mask.

    ``k`` defaults to 5% of the pixels (:func:`default_topk`).
    """
    maps, masks = _pair(maps, masks)
    n, h, w = maps.shape
    n_pix = h * w
    if k is None:
        k = default_topk(n_pix)
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or not 1 <= k <= n_pix:
        raise InputError(f"k must be an integer between 1 and {n_pix} (pixels), got {k!r}")
    out = np.empty(n)
    for sl in _blocks(n):
        gt = _mask_block(masks, sl)
        cnt, pos = _grouped_counts(_map_block(maps, sl), gt)
        share = _top_share(cnt, pos, np.full(gt.shape[0], int(k)))
        out[sl] = np.where(gt.any(axis=1), share, np.nan)
    return out


def topk_metric(maps, masks, ctx) -> np.ndarray:
    """:func:`topk_intersection` with ``k`` the context's ``topk_fraction`` of the pixels."""
    k = default_topk(maps.shape[1] * maps.shape[2], ctx.params.topk_fraction)
    return topk_intersection(maps, masks, k=k)
