"""Exact area-weighted resizing of images and masks (like OpenCV's INTER_AREA, but exact).

Each output pixel is the mean of the input area it covers, computed with separable
overlap matrices, so downsampling by a non-integer factor (1024 -> 320) neither aliases nor
shifts, and masks keep their area in expectation.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.sparse


@functools.lru_cache(maxsize=32)
def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` float32 matrix; row ``i`` averages the inputs under output pixel ``i``."""
    if n_in <= 0 or n_out <= 0:
        raise ValueError(f"sizes must be positive, got {n_in} -> {n_out}")
    scale = n_in / n_out
    lo = np.arange(n_out) * scale
    hi = lo + scale
    edges = np.arange(n_in + 1, dtype=np.float64)
    # overlap of [lo_i, hi_i) with [j, j+1)
    left = np.maximum(lo[:, None], edges[None, :-1])
    right = np.minimum(hi[:, None], edges[None, 1:])
    w = np.clip(right - left, 0.0, None) / scale
    w.setflags(write=False)
    return w.astype(np.float32)


@functools.lru_cache(maxsize=32)
def _sparse_weights(n_in: int, n_out: int) -> scipy.sparse.csr_matrix:
    # Each output pixel covers only a few input pixels: the sparse product is O(pixels).
    return scipy.sparse.csr_matrix(area_weights(n_in, n_out))


def resize_area(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Area-average a 2-D float image to ``shape`` (rows, cols); returns float32."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {image.shape}")
    rows, cols = shape
    if image.shape == (rows, cols):
        return image.copy()
    wr = _sparse_weights(image.shape[0], rows)
    wc = _sparse_weights(image.shape[1], cols)
    return np.ascontiguousarray((wc @ (wr @ image).T).T, dtype=np.float32)


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a binary mask: a pixel is positive when >= half its area is positive.

    A non-empty mask never becomes empty: if no output pixel reaches one half, every output
    pixel that the lesion touches is kept instead, so tiny lesions survive downsampling.
    """
    frac = resize_area(np.asarray(mask, dtype=np.float32), shape)
    out = frac >= 0.5 - 1e-6
    if not out.any() and np.any(mask):
        out = frac > 1e-6
    return out.astype(np.uint8)


def to_uint8(image01: np.ndarray) -> np.ndarray:
    """Quantise a [0, 1] float image to uint8 with round-half-to-even."""
    return np.clip(np.rint(np.asarray(image01, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def scale_box(
    x: float, y: float, width: float, height: float, orig_shape: tuple[int, int], size: int
) -> tuple[int, int, int, int]:
    """Scale a top-left/width/height box from original pixels to a ``size x size`` grid.

    Returns inclusive pixel bounds ``(x0, y0, x1, y1)``: every output pixel that the box
    overlaps is inside, so a box never vanishes.
    """
    rows, cols = orig_shape
    sx, sy = size / cols, size / rows
    x0 = math.floor(x * sx)
    y0 = math.floor(y * sy)
    x1 = math.ceil((x + width) * sx) - 1
    y1 = math.ceil((y + height) * sy) - 1
    x0, y0 = min(max(x0, 0), size - 1), min(max(y0, 0), size - 1)
    x1, y1 = min(max(x1, x0), size - 1), min(max(y1, y0), size - 1)
    return x0, y0, x1, y1
