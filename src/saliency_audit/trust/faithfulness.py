"""Faithfulness of a map to the model: deletion, insertion and ROAD curves.

A faithful map ranks first the pixels the model's output depends on. Pixels are taken in the
map's order (most salient first; ties broken by a random key drawn once per image, the same
for every method) and, at each fraction ``f`` of :func:`fractions`:

* **deletion** (Petsiuk et al., 2018): the top ``f`` pixels are replaced by a reference image
  (``blur``: the image Gaussian-blurred; ``mean``: the training images' mean pixel value) and
  the model's logit is read; a faithful map makes it fall fast (a low area);
* **insertion**: the top ``f`` pixels of the image are restored on the reference; a faithful
  map makes the logit rise fast (a high area);
* **ROAD** (Rong et al., 2022, "remove and debias"): deletion in which the removed pixels are
  filled by *noisy linear imputation* (each removed pixel the weighted mean of its 8
  neighbours, 1/6 direct and 1/12 diagonal, solved jointly, plus Gaussian noise), so that the
  images stay close to the data and the removed pixels' shape leaks less; a low area is
  faithful. At ``f = 1`` nothing is left to impute from, so ROAD's fractions stop below 1.

Each curve is compared with the same curve for a **random pixel order** of the same image
(:func:`random_order`); the areas (trapezoid over ``f`` in [0, 1], in logits) go to the
statistics as paired rows. For a linear model ``f(x) = w . x`` and a map ``w * (x - b)``
(gradient times input against the reference ``b``) the deletion curve falls monotonically,
and the two curves normalised by :func:`normalise` satisfy ``insertion = 1 - deletion`` at
every fraction (so their areas add to 1), since the inserted and deleted images add up to
``x + b``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from scipy import ndimage

from ..vocabulary import FAITHFULNESS

#: the curves, and whether a high area means faithful
CURVES = {curve: higher for curve, (_, higher) in FAITHFULNESS.items()}
#: replacement of removed pixels in deletion / insertion
REPLACEMENTS = ("blur", "mean")


def fractions(steps: int, *, road: bool = False) -> np.ndarray:
    """``steps + 1`` fractions from 0 to 1 (ROAD: ``steps`` fractions from 0 to ``1 - 1/steps``,
    since a fully removed image has no neighbour to impute from)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    grid = np.linspace(0.0, 1.0, steps + 1)
    return grid[:-1] if road else grid


def pixel_order(saliency: np.ndarray, tie_key: np.ndarray) -> np.ndarray:
    """Flat pixel indices, most salient first; equal values in the order of ``tie_key`` (a
    random key per pixel, so that no method gains from the pixel grid's order)."""
    s = np.asarray(saliency, dtype=np.float64).ravel()
    key = np.asarray(tie_key, dtype=np.float64).ravel()
    if s.shape != key.shape:
        raise ValueError(f"map has {s.size} pixels but the tie key {key.size}")
    s = np.where(np.isfinite(s), s, -np.inf)
    return np.lexsort((key, -s))


def random_order(n_pixels: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random pixel order: the baseline every map's curves are compared with."""
    return rng.permutation(n_pixels)


def reference_image(image: np.ndarray, replacement: str, *, sigma: float, mean: float):
    """What removed pixels become: the image blurred with a Gaussian of ``sigma`` pixels
    (``blur``), or the constant ``mean`` (``mean``)."""
    if replacement == "blur":
        return ndimage.gaussian_filter(np.asarray(image, np.float64), sigma, mode="nearest")
    if replacement == "mean":
        return np.full(np.shape(image), float(mean))
    raise ValueError(f"replacement must be one of {REPLACEMENTS}, got {replacement!r}")


def _masks(order: np.ndarray, shape: tuple[int, int], fracs: np.ndarray) -> np.ndarray:
    """``bool (len(fracs), H, W)``: the first ``round(f * n)`` pixels of ``order``."""
    n = int(np.prod(shape))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    counts = np.round(np.asarray(fracs) * n).astype(np.int64)
    return (rank[None, :] < counts[:, None]).reshape(len(fracs), *shape)


def _neighbour_operator(shape: tuple[int, int]) -> scipy.sparse.csr_matrix:
    """``A`` with ``(A x)_i`` = the weighted mean of pixel i's neighbours minus ``x_i``
    (ROAD's weights: 1/6 for the 4 direct neighbours, 1/12 for the diagonal ones, renormalised
    at the border)."""
    h, w = shape
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    weight_sum = np.zeros((h, w))
    offsets = [(-1, 0, 1 / 6), (1, 0, 1 / 6), (0, -1, 1 / 6), (0, 1, 1 / 6)]
    offsets += [(-1, -1, 1 / 12), (-1, 1, 1 / 12), (1, -1, 1 / 12), (1, 1, 1 / 12)]
    for dy, dx, wt in offsets:
        ys = slice(max(0, -dy), h - max(0, dy))
        xs = slice(max(0, -dx), w - max(0, dx))
        yt = slice(max(0, dy), h - max(0, -dy))
        xt = slice(max(0, dx), w - max(0, -dx))
        rows.append(idx[ys, xs].ravel())
        cols.append(idx[yt, xt].ravel())
        vals.append(np.full(rows[-1].size, wt))
        weight_sum[ys, xs] += wt
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    v = v / weight_sum.ravel()[r]
    a = scipy.sparse.csr_matrix((v, (r, c)), shape=(h * w, h * w))
    return a - scipy.sparse.identity(h * w, format="csr")


def impute(
    image: np.ndarray,
    removed: np.ndarray,
    *,
    noise: float,
    rng: np.random.Generator,
    operator: scipy.sparse.csr_matrix | None = None,
) -> np.ndarray:
    """ROAD's noisy linear imputation: the ``removed`` pixels of ``image`` (2-D) set to the
    values that make each one the weighted mean of its neighbours (kept pixels fixed), plus
    Gaussian noise of standard deviation ``noise``."""
    img = np.asarray(image, dtype=np.float64)
    removed = np.asarray(removed, dtype=bool)
    out = img.copy()
    if not removed.any():
        return out
    if removed.all():
        raise ValueError("ROAD cannot impute an image whose every pixel is removed")
    a = operator if operator is not None else _neighbour_operator(img.shape)
    u = np.flatnonzero(removed.ravel())
    k = np.flatnonzero(~removed.ravel())
    rows = a.tocsr()[u]  # the removed pixels' equations, sliced once
    a_uu = rows[:, u].tocsc()
    rhs = -(rows[:, k] @ img.ravel()[k])
    values = scipy.sparse.linalg.spsolve(a_uu, rhs)
    flat = out.ravel()
    flat[u] = values + rng.normal(0.0, noise, size=u.size)
    return flat.reshape(img.shape)


def curve_images(
    image: np.ndarray,
    order: np.ndarray,
    curve: str,
    fracs: np.ndarray,
    *,
    reference: np.ndarray | None = None,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
    operator=None,
) -> np.ndarray:
    """``(len(fracs), H, W)``: the images whose logits make one curve of one map's ``order``."""
    img = np.asarray(image, dtype=np.float64)
    masks = _masks(order, img.shape, fracs)
    if curve == "deletion":
        return np.where(masks, reference, img[None])
    if curve == "insertion":
        return np.where(masks, img[None], reference)
    if curve == "road":
        if rng is None:
            raise ValueError("ROAD needs a random generator for its noise")
        op = operator if operator is not None else _neighbour_operator(img.shape)
        return np.stack([impute(img, m, noise=noise, rng=rng, operator=op) for m in masks])
    raise ValueError(f"curve must be one of {tuple(CURVES)}, got {curve!r}")


def area(values: np.ndarray, fracs: np.ndarray) -> float:
    """Area under a curve over ``fracs`` (trapezoid), divided by the fractions' span: the
    curve's mean height (in the curve's unit, logits here)."""
    v, f = np.asarray(values, dtype=np.float64), np.asarray(fracs, dtype=np.float64)
    span = f[-1] - f[0]
    if span <= 0:
        return float(v.mean())
    return float(np.sum((v[1:] + v[:-1]) * np.diff(f)) / 2.0 / span)


def normalise(values: np.ndarray, full: float, reference: float) -> np.ndarray:
    """A curve as the share of the change from the reference image's logit to the image's
    (1 at the image, 0 at the reference); NaN when the two logits are equal."""
    d = float(full) - float(reference)
    if d == 0 or not np.isfinite(d):
        return np.full(np.shape(values), np.nan)
    return (np.asarray(values, dtype=np.float64) - float(reference)) / d


def image_curves(
    predict: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    orders: dict[str, np.ndarray],
    *,
    steps: int,
    replacement: str,
    sigma: float,
    mean: float,
    road_noise: float,
    seed: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Every curve of one image for each named pixel order: ``order name -> curve -> logits``.

    ``predict``: ``(n, H, W)`` gray images (the model's input scale) -> ``(n,)`` logits of the
    class explained. ``seed``: ROAD's noise, one stream per (image, order), so that every order
    meets the same noise draws."""
    ref = reference_image(image, replacement, sigma=sigma, mean=mean)
    grid, road_grid = fractions(steps), fractions(steps, road=True)
    op = _neighbour_operator(np.shape(image))
    # fraction 0 of deletion / ROAD and 1 of insertion is the image itself, fraction 1 of
    # deletion and 0 of insertion the reference, for every order: evaluated once
    batches, spans = [np.asarray(image, np.float64)[None], ref[None]], {}
    start = 2
    for name, order in orders.items():
        for curve in CURVES:
            rng = np.random.default_rng(seed) if curve == "road" else None
            fr = road_grid if curve == "road" else grid
            inner = fr[(fr > 0) & (fr < 1)]
            imgs = curve_images(
                image, order, curve, inner, reference=ref, noise=road_noise, rng=rng, operator=op
            )
            spans[(name, curve)] = (start, start + len(imgs), fr)
            start += len(imgs)
            batches.append(imgs)
    logits = np.asarray(predict(np.concatenate(batches)), dtype=np.float64)
    full, blank = logits[0], logits[1]
    ends = {"deletion": (full, blank), "insertion": (blank, full), "road": (full, None)}
    out: dict[str, dict[str, np.ndarray]] = {}
    for (name, curve), (a, b, fr) in spans.items():
        first, last = ends[curve]
        values = [first, *logits[a:b]] + ([last] if fr[-1] == 1 else [])
        out.setdefault(name, {})[curve] = np.asarray(values)
    return out
