"""OCC: occlusion (Zeiler & Fergus, 2014): how much the explained logit drops when a square
patch of the image is replaced by a baseline value.

Patches of ``patch`` x ``patch`` pixels slide with ``stride`` (the last row and column of
patches end at the image's edge, so every pixel is covered); each pixel's attribution is the
mean, over the patches covering it, of ``sign * (logit(x) - logit(x with the patch set to
baseline))`` (black by default). Forward passes only: ``1 + P`` per image for ``P`` patches,
run through the compiled forward function at the engine's batch.
"""

from __future__ import annotations

import numpy as np
from saliency.core.base import OUTPUT_LAYER_VALUES

from saliency_audit.errors import InputError
from saliency_audit.saliency.base import SaliencyMethod
from saliency_audit.saliency.integrated_gradients import BLACK
from saliency_audit.saliency.postprocess import RECIPE as POSTPROCESS_RECIPE


def patch_starts(size: int, patch: int, stride: int) -> list[int]:
    """Top/left corners along one axis: every ``stride`` pixels, plus ``size - patch``."""
    if patch > size:
        raise InputError(f"saliency method OCC: patch {patch} is larger than the image ({size})")
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


class Occlusion(SaliencyMethod):
    """Occlusion sensitivity; raw ``(B, S, S, 1)`` (logit drop per pixel, signed)."""

    name = "OCC"
    defaults = {"patch": 8, "stride": 4, "baseline": BLACK}
    kinds = ("forward",)

    def describe(self) -> dict:
        p = self._params
        return {
            "recipe": (
                f"occlusion: mean drop of the explained logit over the {p['patch']}x{p['patch']} "
                f"patches (stride {p['stride']}, set to {p['baseline']}) covering each pixel; "
                "then " + POSTPROCESS_RECIPE
            )
        }

    def _corners(self, size: int) -> list[tuple[int, int]]:
        starts = patch_starts(size, self._params["patch"], self._params["stride"])
        return [(r, c) for r in starts for c in starts]

    @property
    def gradient_evaluations(self) -> int:
        """Model evaluations per image (forward passes: the image and each patch)."""
        if self.ctx is None:
            return 1
        return 1 + len(self._corners(self.ctx.size))

    def _occlude(self, x: np.ndarray, corners) -> np.ndarray:
        p, b = self._params["patch"], self._params["baseline"]
        out = np.repeat(x[None], len(corners), axis=0)
        for k, (r, c) in enumerate(corners):
            out[k, r : r + p, c : c + p] = b
        return out

    def _attribution(self, forward, x: np.ndarray, sign: float, chunk: int) -> np.ndarray:
        size, p = x.shape[0], self._params["patch"]
        corners = self._corners(size)
        drops = np.empty(len(corners), np.float64)
        full = float(forward.run(x[None])[OUTPUT_LAYER_VALUES][0])
        for start in range(0, len(corners), chunk):
            part = corners[start : start + chunk]
            z = forward.run(self._occlude(x, part))[OUTPUT_LAYER_VALUES]
            drops[start : start + len(part)] = sign * (full - z)
        total = np.zeros((size, size))
        count = np.zeros((size, size))
        for (r, c), d in zip(corners, drops, strict=True):
            total[r : r + p, c : c + p] += d
            count[r : r + p, c : c + p] += 1
        return (total / count).astype(np.float32)

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        sign = self.signs(x)
        forward = ctx.function("forward", plan.batch)
        chunk = forward.batch or 32
        maps = [self._attribution(forward, xi, si, chunk) for xi, si in zip(x, sign, strict=True)]
        return np.stack(maps)[..., None]

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        forward = ctx.function("forward", None)
        return self._attribution(forward, x, self._plain_sign(x), 1)[..., None]
