"""Similarity of two saliency maps of the same image: randomization and repeatability.

- ``ssim``: mean structural similarity, exactly scikit-image's
  ``structural_similarity(a, b, win_size=7, data_range=..., gaussian_weights=False,
  use_sample_covariance=True, K1=0.01, K2=0.03)`` per image, vectorised over the stack: a
  uniform ``win_size`` x ``win_size`` filter, sample covariances, the SSIM image cropped by
  ``(win_size - 1) // 2`` on each side and averaged.  Like scikit-image it computes in
  float32 for float16/float32 maps and in float64 otherwise, so the results agree to
  floating-point rounding.
- ``spearman``: Spearman rank correlation of the flattened maps (average ranks for ties),
  NaN when either map is constant.
- ``random_pair_baseline``: SSIM and Spearman of seeded random pairs of maps of *different*
  images (the paper's randomization baseline: 50 pairs of the trained model's maps).

Randomization compares the trained model's map with the map after each cascading
randomization step, repeatability two replicates of one architecture, reproducibility two
architectures; all use the same per-image functions.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter

from saliency_audit.errors import InputError
from saliency_audit.metrics.context import MetricParams, score
from saliency_audit.metrics.utility import _blocks, _map_block, _same_shape, _stack, _value_bins
from saliency_audit.vocabulary import metric_names

K1 = 0.01
K2 = 0.03


def _check_ssim_args(shape: tuple[int, ...], win_size, data_range) -> tuple[int, float]:
    if (
        not isinstance(win_size, numbers.Integral)
        or isinstance(win_size, bool)
        or win_size < 3
        or win_size % 2 == 0
    ):
        raise InputError(f"win_size must be an odd integer >= 3, got {win_size!r}")
    if win_size > min(shape[1:]):
        raise InputError(f"win_size {win_size} exceeds the map size {shape[1:]}")
    try:
        data_range = float(data_range)
    except (TypeError, ValueError):
        raise InputError(f"data_range must be a positive number, got {data_range!r}") from None
    if not np.isfinite(data_range) or data_range <= 0:
        raise InputError(f"data_range must be a positive number, got {data_range!r}")
    return int(win_size), data_range


def _ssim_block(x: np.ndarray, y: np.ndarray, win_size: int, data_range: float) -> np.ndarray:
    """SSIM per image of two ``(m, H, W)`` float stacks, operation by operation as skimage.

    The arithmetic is scikit-image's, in the same order and dtype (so the results agree
    bit for bit), written with in-place ufuncs to keep the temporaries few and in cache.
    """
    size = (1, win_size, win_size)  # no filtering across images
    n_win = win_size**2
    cov_norm = n_win / (n_win - 1)
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    ux = uniform_filter(x, size=size)
    uy = uniform_filter(y, size=size)
    t = np.multiply(x, x)
    vx = uniform_filter(t, size=size)  # uxx for now
    np.multiply(y, y, out=t)
    vy = uniform_filter(t, size=size)  # uyy for now
    np.multiply(x, y, out=t)
    vxy = uniform_filter(t, size=size)  # uxy for now
    for var, mx, my in ((vx, ux, ux), (vy, uy, uy), (vxy, ux, uy)):
        np.multiply(mx, my, out=t)  # v = cov_norm * (u.. - u. * u.)
        np.subtract(var, t, out=var)
        np.multiply(cov_norm, var, out=var)
    a1 = t
    np.multiply(2, ux, out=a1)  # a1 = 2 * ux * uy + c1
    np.multiply(a1, uy, out=a1)
    np.add(a1, c1, out=a1)
    a2 = vxy
    np.multiply(2, a2, out=a2)  # a2 = 2 * vxy + c2
    np.add(a2, c2, out=a2)
    b1 = ux
    np.square(ux, out=b1)  # b1 = ux**2 + uy**2 + c1
    np.square(uy, out=uy)
    np.add(b1, uy, out=b1)
    np.add(b1, c1, out=b1)
    b2 = vx
    np.add(vx, vy, out=b2)  # b2 = vx + vy + c2
    np.add(b2, c2, out=b2)
    np.multiply(a1, a2, out=a1)  # s = (a1 * a2) / (b1 * b2)
    np.multiply(b1, b2, out=b1)
    s = np.divide(a1, b1, out=a1)
    pad = (win_size - 1) // 2
    h, w = x.shape[1:]
    return s[:, pad : h - pad, pad : w - pad].mean(axis=(1, 2), dtype=np.float64)


def _pair_stacks(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = _stack(a, "a")
    b = _stack(b, "b")
    _same_shape(a, b, "a", "b")
    return a, b


def ssim(a, b, win_size: int = 7, data_range: float = 1.0) -> np.ndarray:
    """Per-image mean SSIM of map stacks ``a`` and ``b`` (n, H, W) -> (n,) float64.

    Same result as ``skimage.metrics.structural_similarity(a[i], b[i], win_size=win_size,
    data_range=data_range)`` for every ``i``.  The paper's software in effect used
    ``data_range=2`` on [0, 1] maps; the default here is 1.
    """
    a, b = _pair_stacks(a, b)
    win_size, data_range = _check_ssim_args(a.shape, win_size, data_range)
    low = (np.float16, np.float32)
    ftype = np.float32 if a.dtype in low and b.dtype in low else np.float64
    n, h, w = a.shape
    out = np.empty(n)
    for sl in _blocks(n, 4):  # small blocks: the temporaries stay in cache
        x = _map_block(a, sl, "a").astype(ftype, copy=False).reshape(-1, h, w)
        y = _map_block(b, sl, "b").astype(ftype, copy=False).reshape(-1, h, w)
        out[sl] = _ssim_block(x, y, win_size, data_range)
    return out


def _midranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share their mean rank) of each row of ``x``."""
    m = x.shape[0]
    bins, nb, order = _value_bins(x)
    flat = bins + (np.arange(m, dtype=np.int64) * nb)[:, None]
    cnt = np.bincount(flat.ravel(), minlength=m * nb).reshape(m, nb)
    table = (np.cumsum(cnt, axis=1) - cnt) + (cnt + 1) / 2.0
    ranks = np.take(table.ravel(), flat)  # faster than take_along_axis, same values
    if order is None:
        return ranks
    out = np.empty_like(ranks)
    np.put_along_axis(out, order, ranks, axis=1)
    return out


def spearman(a, b) -> np.ndarray:
    """Per-image Spearman rank correlation of the flattened maps -> (n,) float64.

    Ties get average ranks (as ``scipy.stats.spearmanr``); NaN when a map is constant.
    """
    a, b = _pair_stacks(a, b)
    n = a.shape[0]
    n_pix = a.shape[1] * a.shape[2]
    centre = (n_pix + 1) / 2.0  # the mean of any set of average ranks
    out = np.empty(n)
    for sl in _blocks(n):
        da = _midranks(_map_block(a, sl, "a")) - centre
        db = _midranks(_map_block(b, sl, "b")) - centre
        num = np.einsum("ij,ij->i", da, db)
        den = np.sqrt(np.einsum("ij,ij->i", da, da) * np.einsum("ij,ij->i", db, db))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[sl] = np.where(den > 0, num / den, np.nan)
    return np.clip(out, -1.0, 1.0)


def ssim_metric(a, b, ctx) -> np.ndarray:
    """:func:`ssim` with the context's window and data range (the registered ``ssim``)."""
    return ssim(a, b, win_size=ctx.params.ssim_window, data_range=ctx.params.ssim_data_range)


def spearman_metric(a, b, ctx=None) -> np.ndarray:
    """:func:`spearman` (the registered ``spearman``)."""
    return spearman(a, b)


def similarity_scores(
    a,
    b,
    metrics: Sequence[str] | None = None,
    win_size: int = 7,
    data_range: float = 1.0,
) -> dict[str, np.ndarray]:
    """``{"ssim": ..., "spearman": ...}`` (``metrics``: a subset of the registered similarity
    metrics, default all, in order), each (n,)."""
    known = metric_names("similarity")
    metrics = known if metrics is None else [metrics] if isinstance(metrics, str) else metrics
    unknown = [m for m in metrics if m not in known]
    if unknown or not metrics:
        raise InputError(f"unknown similarity metric(s) {unknown}; choose from {known}")
    return score(metrics, a, b, MetricParams(ssim_window=win_size, ssim_data_range=data_range))


def random_pairs(n_images: int, n_pairs: int = 50, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` seeded pairs ``(i, j)`` of different image indices in ``range(n_images)``.

    ``i`` is uniform over all images and ``j`` uniform over the others (drawn with
    ``numpy.random.default_rng(seed)``); pairs are drawn independently, so one may repeat.
    """
    if n_images < 2:
        raise InputError(f"a random-pair baseline needs at least 2 images, got {n_images}")
    if not isinstance(n_pairs, numbers.Integral) or n_pairs < 1:
        raise InputError(f"n_pairs must be a positive integer, got {n_pairs!r}")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n_images, size=n_pairs)
    second = rng.integers(0, n_images - 1, size=n_pairs)
    second = second + (second >= first)  # skip the first image: always a different one
    return first, second


def random_pair_baseline(
    maps, n_pairs: int = 50, seed=0, win_size: int = 7, data_range: float = 1.0
) -> pd.DataFrame:
    """SSIM and Spearman of ``n_pairs`` seeded random pairs of maps of different images.

    Returns a DataFrame with columns ``image_a, image_b`` (indices into ``maps``) and one per
    registered similarity metric (``ssim``, ``spearman``); its ``ssim`` mean is the paper's
    randomization baseline.
    """
    maps = _stack(maps, "maps")
    first, second = random_pairs(maps.shape[0], n_pairs, seed)
    scores = similarity_scores(
        np.asarray(maps[first]), np.asarray(maps[second]), None, win_size, data_range
    )
    return pd.DataFrame({"image_a": first, "image_b": second, **scores})
