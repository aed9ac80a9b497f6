"""SG: SmoothGrad, the mean (squared by default) gradient over Gaussian-noised copies."""

from __future__ import annotations

import numpy as np
from saliency.core import GradientSaliency

from saliency_audit.saliency.base import SaliencyMethod


def noise_stdev(x: np.ndarray, stdev_spread: float) -> float:
    """SmoothGrad's noise SD: ``stdev_spread`` x (max - min) of the input (as ``saliency.core``)."""
    return float(stdev_spread * (np.max(x) - np.min(x)))


class NoiseStream:
    """The noise ``GetSmoothedMask`` would draw after ``np.random.seed(seed)``, one image.

    ``saliency.core`` draws ``np.random.normal(0, sd, x.shape)`` (float64) once per sample from
    the global generator; here a ``RandomState(seed)`` private to the image gives the same
    stream without global state.
    """

    def __init__(self, x: np.ndarray, seed: int, stdev_spread: float):
        self.x = x
        self.sd = noise_stdev(x, stdev_spread)
        self.rs = np.random.RandomState(int(seed))

    def next(self) -> np.ndarray:
        """``x + noise`` in float64, exactly the core's ``x_plus_noise``."""
        return self.x + self.rs.normal(0, self.sd, self.x.shape)


class SmoothGrad(SaliencyMethod):
    """SmoothGrad over ``GradientSaliency`` with seeded per-image noise; raw ``(B, S, S, 3)``.

    Same arithmetic as ``GradientSaliency.GetSmoothedMask`` (``stdev_spread`` of the image's
    value range, ``nsamples`` samples, ``magnitude``: mean of squared gradients), but the
    noise samples of several images go through one model call.
    """

    name = "SG"
    defaults = {"stdev_spread": 0.15, "nsamples": 25, "magnitude": True}
    kinds = ("input",)
    stochastic = True

    def factors(self) -> tuple[int, ...]:
        return (self._params["nsamples"],)

    def compute(self, batch_inputs: np.ndarray, seeds) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        n, m = self._params["nsamples"], plan.groups[0]
        fn = ctx.function("input", plan.batch)
        sign = self.signs(x)
        spread = self._params["stdev_spread"]
        seeds = self._seeds(seeds, len(x))
        streams = [NoiseStream(xi, s, spread) for xi, s in zip(x, seeds, strict=True)]
        total = np.zeros_like(x, dtype=np.float32)
        noisy = np.empty((x.shape[0], m, *x.shape[1:]), np.float32)
        core = GradientSaliency()
        for _ in range(n // m):
            for i, stream in enumerate(streams):
                for j in range(m):
                    noisy[i, j] = stream.next()
            grads = core.GetMask(noisy, fn.call_model_function, {"sign": sign[:, None]})
            for j in range(m):  # accumulate in sample order, as GetSmoothedMask does
                g = grads[:, j]
                total += g * g if self._params["magnitude"] else g
        return total / n

    def reference(self, x: np.ndarray, seed: int) -> np.ndarray:
        ctx, _ = self._require_bound()
        fn = ctx.function("input", None)
        state = np.random.get_state()
        try:
            np.random.seed(int(seed))
            out = GradientSaliency().GetSmoothedMask(
                x,
                fn.call_model_function,
                {"sign": self._plain_sign(x)},
                stdev_spread=self._params["stdev_spread"],
                nsamples=self._params["nsamples"],
                magnitude=self._params["magnitude"],
            )
        finally:
            np.random.set_state(state)
        return out.astype(np.float32)
