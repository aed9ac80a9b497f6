"""GUIDEDIG: Guided Integrated Gradients (Kapishnikov et al., 2021): a path from the baseline
to the image that, at each step, moves the features with the smallest absolute gradient first,
never more than ``max_dist`` (in alpha) from the straight line.

The algorithm of ``saliency.core.GuidedIG``, run for several images in lockstep: each of the
``steps`` steps needs one gradient per image at its current point, so the images' points go
through one compiled call, and each image's feature selection (NumPy, float64) follows. (The
package's own ``GetMask`` calls ``np.quantile(interpolation=...)``, which NumPy 2 removed;
``method="lower"`` is the same quantile.) ``reference`` runs one image through an unbatched
function.
"""

from __future__ import annotations

import math

import numpy as np
from saliency.core.base import INPUT_OUTPUT_GRADIENTS

from saliency_audit.saliency.base import SaliencyMethod
from saliency_audit.saliency.integrated_gradients import BLACK

EPSILON = 1e-9


def _alpha_to_x(alpha: float, x_input: np.ndarray, x_baseline: np.ndarray) -> np.ndarray:
    return x_baseline + (x_input - x_baseline) * alpha


class _Path:
    """One image's Guided IG path: ``point`` is where the next gradient is taken;
    :meth:`advance` takes that gradient and moves to the next step."""

    def __init__(self, x_input, x_baseline, steps: int, fraction: float, max_dist: float):
        self.x_input = np.asarray(x_input, np.float64)
        self.x_baseline = np.asarray(x_baseline, np.float64)
        self.x = self.x_baseline.copy()
        self.l1_total = np.abs(self.x_input - self.x_baseline).sum()
        self.attr = np.zeros_like(self.x_input)
        self.steps, self.fraction, self.max_dist = steps, fraction, max_dist
        self.step = 0

    @property
    def point(self) -> np.ndarray:
        return self.x

    def _alpha(self) -> np.ndarray:
        span = self.x_input - self.x_baseline
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(span != 0, (self.x - self.x_baseline) / span, np.nan)

    def advance(self, grad_actual: np.ndarray) -> None:
        if self.l1_total == 0:
            return
        grad_actual = np.asarray(grad_actual, np.float64)
        grad = grad_actual.copy()
        alpha = (self.step + 1.0) / self.steps
        alpha_min, alpha_max = max(alpha - self.max_dist, 0.0), min(alpha + self.max_dist, 1.0)
        x_min = _alpha_to_x(alpha_min, self.x_input, self.x_baseline)
        x_max = _alpha_to_x(alpha_max, self.x_input, self.x_baseline)
        l1_target = self.l1_total * (1 - (self.step + 1) / self.steps)
        x = self.x
        gamma = np.inf
        while gamma > 1.0:
            x_old = x.copy()
            x_alpha = self._alpha()
            x_alpha[np.isnan(x_alpha)] = alpha_max
            behind = x_alpha < alpha_min
            x[behind] = x_min[behind]
            l1_current = np.abs(x - self.x_input).sum()
            if math.isclose(l1_target, l1_current, rel_tol=EPSILON, abs_tol=EPSILON):
                self.attr += (x - x_old) * grad_actual
                break
            grad[x == x_max] = np.inf
            threshold = np.quantile(np.abs(grad), self.fraction, method="lower")
            chosen = np.logical_and(np.abs(grad) <= threshold, grad != np.inf)
            l1_s = (np.abs(x - x_max) * chosen).sum()
            gamma = (l1_current - l1_target) / l1_s if l1_s > 0 else np.inf
            if gamma > 1.0:
                x[chosen] = x_max[chosen]
            else:
                x[chosen] = _alpha_to_x(gamma, x_max, x)[chosen]
            self.attr += (x - x_old) * grad_actual
        self.step += 1


class GuidedIG(SaliencyMethod):
    """Guided IG from a constant ``baseline`` (black); raw ``(B, S, S, 3)``."""

    name = "GUIDEDIG"
    defaults = {"steps": 200, "fraction": 0.25, "max_dist": 0.02, "baseline": BLACK}
    kinds = ("input",)

    def _paths(self, x: np.ndarray) -> list[_Path]:
        p = self._params
        return [
            _Path(xi, np.full_like(xi, p["baseline"]), p["steps"], p["fraction"], p["max_dist"])
            for xi in x
        ]

    @property
    def gradient_evaluations(self) -> int:
        return self._params["steps"]

    def _run(self, fn, x: np.ndarray, sign: np.ndarray) -> np.ndarray:
        paths = self._paths(x)
        for _ in range(self._params["steps"]):
            points = np.stack([p.point for p in paths]).astype(np.float32)
            grads = fn.call_model_function(points, {"sign": sign}, [INPUT_OUTPUT_GRADIENTS])
            for path, g in zip(paths, grads[INPUT_OUTPUT_GRADIENTS], strict=True):
                path.advance(g)
        return np.stack([p.attr for p in paths]).astype(np.float32)

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        return self._run(ctx.function("input", plan.batch), x, self.signs(x))

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        sign = np.array([self._plain_sign(x)], np.float32)
        return self._run(ctx.function("input", None), x[None], sign)[0]
