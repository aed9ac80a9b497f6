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


def postprocess_batch(raw: np.ndarray, percentile: float = PERCENTILE) -> np.ndarray:
    """``(B, S, S[, C])`` raw attributions -> ``float32 (B, S, S)``, one map at a time."""
    raw = np.asarray(raw)
    out = np.empty((raw.shape[0], raw.shape[1], raw.shape[2]), dtype=np.float32)
    for i in range(raw.shape[0]):
        out[i] = postprocess(raw[i], percentile)
    return out
