"""BLURIG: Blur IG (Xu et al., 2020): integrated gradients along a path of ever stronger
Gaussian blurs of the image (``saliency.core.BlurIG``'s arithmetic, batched).

``steps`` blurs with sigma ``0, max_sigma / steps, ...`` (``scipy.ndimage.gaussian_filter``,
zero padding, per channel, as the package); at each, the gradient times the finite-difference
derivative of the blur in sigma (``grad_step``), summed with the step width and negated. Here
the blurred images of several images and steps go through one compiled call; the package's
``GetMask`` takes one image (``reference``).
"""

from __future__ import annotations

import numpy as np
from saliency.core import BlurIG as CoreBlurIG
from saliency.core.base import INPUT_OUTPUT_GRADIENTS
from saliency.core.blur_ig import gaussian_blur

from saliency_audit.saliency.base import SaliencyMethod


class BlurIG(SaliencyMethod):
    """Blur IG; raw ``(B, S, S, 3)``."""

    name = "BLURIG"
    defaults = {"max_sigma": 50.0, "steps": 100, "grad_step": 0.01}
    kinds = ("input",)

    def factors(self) -> tuple[int, ...]:
        return (self._params["steps"],)

    def _path(self, x: np.ndarray, steps) -> tuple[np.ndarray, np.ndarray]:
        """Blurred images and their derivatives in sigma at ``steps`` of one image."""
        p = self._params
        sigmas = [float(i) * p["max_sigma"] / float(p["steps"]) for i in steps]
        blurred = np.stack([gaussian_blur(x, s) for s in sigmas])
        ahead = np.stack([gaussian_blur(x, s + p["grad_step"]) for s in sigmas])
        return blurred, (ahead - blurred) / p["grad_step"]

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        n, m = self._params["steps"], plan.groups[0]
        width = self._params["max_sigma"] / float(n)
        fn = ctx.function("input", plan.batch)
        sign = self.signs(x)
        total = np.zeros_like(x)
        for start in range(0, n, m):
            steps = range(start, start + m)
            paths = [self._path(xi, steps) for xi in x]
            inputs = np.stack([p[0] for p in paths])  # (B, m, S, S, 3)
            grads = fn.call_model_function(
                inputs, {"sign": sign[:, None]}, [INPUT_OUTPUT_GRADIENTS]
            )[INPUT_OUTPUT_GRADIENTS]
            for j in range(m):  # accumulate in step order, as the package with batch 1
                total += width * np.stack([p[1][j] for p in paths]) * grads[:, j]
        return -total

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        p = self._params
        out = CoreBlurIG().GetMask(
            x,
            ctx.function("input", None).call_model_function,
            {"sign": self._plain_sign(x)},
            max_sigma=p["max_sigma"],
            steps=p["steps"],
            grad_step=p["grad_step"],
            batch_size=1,
        )
        return np.asarray(out, np.float32)
