"""Model-ready input from the stored uint8 image stacks (the paper's preprocessing)."""

from __future__ import annotations

import numpy as np


def to_model_input(images: np.ndarray) -> np.ndarray:
    """``uint8 (N, H, W)`` or ``(H, W)`` grayscale -> ``float32 (..., H, W, 3)`` in [-1, 1].

    Gray is repeated to three channels and scaled as ``x / 127.5 - 1``, as in the paper's code.
    """
    x = np.asarray(images, dtype=np.float32) / np.float32(127.5) - np.float32(1.0)
    return np.repeat(x[..., None], 3, axis=-1)
