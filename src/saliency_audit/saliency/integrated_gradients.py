"""IG: Integrated Gradients from a black baseline (``saliency.core.IntegratedGradients``)."""

from __future__ import annotations

import numpy as np
from saliency.core import IntegratedGradients as CoreIG

from saliency_audit.saliency.base import SaliencyMethod

#: model-input value of a black (0) pixel: ``0 / 127.5 - 1``
BLACK = -1.0


class IntegratedGradients(SaliencyMethod):
    """IG with ``steps`` points on ``linspace(0, 1, steps)`` from a constant ``baseline``.

    Raw ``(B, S, S, 3)`` = ``(x - baseline) * mean gradient along the path``. The stack of
    images is one ``GetMask`` input, ``batch_size`` integration steps per model call.
    """

    name = "IG"
    defaults = {"steps": 10, "baseline": BLACK}
    kinds = ("input",)

    def factors(self) -> tuple[int, ...]:
        return (self._params["steps"],)

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        fn = ctx.function("input", plan.batch)
        out = CoreIG().GetMask(
            x,
            fn.call_model_function,
            {"sign": self.signs(x)},
            x_baseline=np.full_like(x, self._params["baseline"]),
            x_steps=self._params["steps"],
            batch_size=plan.groups[0],
        )
        return out.astype(np.float32, copy=False)

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        fn = ctx.function("input", None)
        out = CoreIG().GetMask(
            x,
            fn.call_model_function,
            {"sign": self._plain_sign(x)},
            x_baseline=np.full_like(x, self._params["baseline"]),
            x_steps=self._params["steps"],
            batch_size=1,
        )
        return out.astype(np.float32)
