"""SIG: SmoothGrad over Integrated Gradients (``IntegratedGradients.GetSmoothedMask``)."""

from __future__ import annotations

import numpy as np
from saliency.core import IntegratedGradients as CoreIG

from saliency_audit.saliency.base import SaliencyMethod
from saliency_audit.saliency.integrated_gradients import BLACK
from saliency_audit.saliency.smoothgrad import NoiseStream


class SmoothIG(SaliencyMethod):
    """Mean (squared by default) IG attribution over noised copies; raw ``(B, S, S, 3)``.

    As ``GetSmoothedMask`` on ``IntegratedGradients``: the noise is added to the input, the
    baseline stays fixed. Per call: ``images x noise group x step group`` inputs.
    """

    name = "SIG"
    defaults = {
        "stdev_spread": 0.15,
        "nsamples": 25,
        "magnitude": True,
        "steps": 10,
        "baseline": BLACK,
    }
    kinds = ("input",)
    stochastic = True

    def factors(self) -> tuple[int, ...]:
        return (self._params["nsamples"], self._params["steps"])

    def compute(self, batch_inputs: np.ndarray, seeds) -> np.ndarray:
        ctx, plan = self._require_bound()
        p = self._params
        x = np.asarray(batch_inputs, np.float32)
        m, s = plan.groups
        fn = ctx.function("input", plan.batch)
        sign = self.signs(x)
        seeds = self._seeds(seeds, len(x))
        streams = [NoiseStream(xi, sd, p["stdev_spread"]) for xi, sd in zip(x, seeds, strict=True)]
        total = np.zeros_like(x, dtype=np.float32)
        noisy = np.empty((x.shape[0], m, *x.shape[1:]), np.float64)  # float64 like the core
        baseline = np.full(noisy.shape, p["baseline"], np.float32)
        core = CoreIG()
        for _ in range(p["nsamples"] // m):
            for i, stream in enumerate(streams):
                for j in range(m):
                    noisy[i, j] = stream.next()
            attr = core.GetMask(
                noisy,
                fn.call_model_function,
                {"sign": sign[:, None]},
                x_baseline=baseline,
                x_steps=p["steps"],
                batch_size=s,
            )
            for j in range(m):
                a = attr[:, j]
                total += a * a if p["magnitude"] else a
        return total / p["nsamples"]

    def reference(self, x: np.ndarray, seed: int) -> np.ndarray:
        ctx, _ = self._require_bound()
        p = self._params
        fn = ctx.function("input", None)
        state = np.random.get_state()
        try:
            np.random.seed(int(seed))
            out = CoreIG().GetSmoothedMask(
                x,
                fn.call_model_function,
                {"sign": self._plain_sign(x)},
                stdev_spread=p["stdev_spread"],
                nsamples=p["nsamples"],
                magnitude=p["magnitude"],
                x_baseline=np.full_like(x, p["baseline"]),
                x_steps=p["steps"],
                batch_size=1,
            )
        finally:
            np.random.set_state(state)
        return out.astype(np.float32)
