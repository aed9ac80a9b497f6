"""Raw attributions -> one display map per image (the design's recipe).

The recipe is the ``saliency`` package's ``VisualizeImageGrayscale`` (which the paper's code
used): sum of absolute values over channels, values above the 99th percentile clipped, then
min-max scaled to [0, 1]. Two degenerate cases the package leaves as NaN are defined here:
a constant map gives zeros, and a map whose 99th percentile equals its minimum (more than 99% of
the pixels at the minimum, e.g. a sparse Grad-CAM) is scaled by its maximum instead.
"""

from __future__ import annotations

import numpy as np

PERCENTILE = 99.0
#: the recipe every map sidecar records (methods with their own steps prepend them)
RECIPE = (
    "raw attributions (d logit / d input, or the method's own) -> sum of |values| over the 3 "
    "channels -> values above the image's 99th percentile clipped -> divided by the maximum "
    "(map in [0, 1]; an all-zero map stays 0) -> float16"
)


def postprocess(raw: np.ndarray, percentile: float = PERCENTILE) -> np.ndarray:
    """``raw`` ``(S, S)`` or ``(S, S, C)`` attributions -> ``float32 (S, S)`` in [0, 1].

    ``sum(|raw|, channels)``, clipped at the ``percentile``-th percentile, scaled so the minimum
    maps to 0 and the clip value to 1. Non-finite values are treated as 0.
    """
    raw = np.asarray(raw)
    if raw.ndim == 3:
        image_2d = np.sum(np.abs(raw, dtype=np.float64), axis=-1)
    elif raw.ndim == 2:
        image_2d = np.abs(raw.astype(np.float64))
    else:
        raise ValueError(f"expected a (S, S) or (S, S, C) map, got shape {raw.shape}")
    image_2d = np.where(np.isfinite(image_2d), image_2d, 0.0)
    vmin = float(np.min(image_2d)) if image_2d.size else 0.0
    vmax = float(np.percentile(image_2d, percentile)) if image_2d.size else 0.0
    if vmax <= vmin:
        vmax = float(np.max(image_2d)) if image_2d.size else 0.0
    if vmax <= vmin:
        return np.zeros(image_2d.shape, dtype=np.float32)
    return np.clip((image_2d - vmin) / (vmax - vmin), 0.0, 1.0).astype(np.float32)


def minmax_batch(raw: np.ndarray) -> np.ndarray:
    """``(B, S, S[, C])`` -> ``float32 (B, S, S)``: sum of |values| over channels, min-max
    scaled to [0, 1] per map without a percentile clip (a constant map gives zeros)."""
    raw = np.asarray(raw, dtype=np.float64)
    x = np.abs(raw).sum(axis=-1) if raw.ndim == 4 else np.abs(raw)
    x = np.where(np.isfinite(x), x, 0.0)
    lo = x.min(axis=(1, 2), keepdims=True)
    span = x.max(axis=(1, 2), keepdims=True) - lo
    out = np.divide(x - lo, span, out=np.zeros_like(x), where=span > 0)
    return out.astype(np.float32)


#: how ``{method}_raw.npy`` is made from the raw attributions (recorded in each sidecar)
RAW_RECIPE = (
    "raw attributions summed over the 3 input channels with their sign (the channels repeat "
    "the grayscale image, so this is the attribution to the grayscale pixel), divided by the "
    "image's largest |value| (raw_scale in the sidecar; an all-zero map stays 0) -> float16 "
    "in [-1, 1]; ranking metrics read |raw|"
)


def reduce_raw(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B, S, S[, C])`` raw attributions -> ``(float16 (B, S, S) in [-1, 1], (B,) scales)``:
    the signed sum over channels divided by its largest |value| per image (see
    :data:`RAW_RECIPE`); ``stored * scale`` is the channel sum."""
    raw = np.asarray(raw, dtype=np.float64)
    r = raw.sum(axis=-1) if raw.ndim == 4 else raw
    r = np.where(np.isfinite(r), r, 0.0)
    scale = np.abs(r).max(axis=(1, 2))
    safe = np.where(scale > 0, scale, 1.0)
    return (r / safe[:, None, None]).astype(np.float16), scale


def postprocess_batch(raw: np.ndarray, percentile: float = PERCENTILE) -> np.ndarray:
    """``(B, S, S[, C])`` raw attributions -> ``float32 (B, S, S)``, one map at a time."""
    raw = np.asarray(raw)
    out = np.empty((raw.shape[0], raw.shape[1], raw.shape[2]), dtype=np.float32)
    for i in range(raw.shape[0]):
        out[i] = postprocess(raw[i], percentile)
    return out
