"""GRAD: the gradient of the explained logit with respect to the input (``saliency.core``)."""

from __future__ import annotations

import numpy as np
from saliency.core import GradientSaliency

from saliency_audit.saliency.base import SaliencyMethod


class Gradient(SaliencyMethod):
    """Vanilla gradient, ``GradientSaliency.GetMask``; raw ``(B, S, S, 3)``.

    The image stack is handed to ``GetMask`` as one input, so its single model call carries
    all ``B`` images (the model function flattens and runs them at the fixed batch).
    """

    name = "GRAD"
    defaults: dict = {}
    kinds = ("input",)
    _kind = "input"

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        fn = ctx.function(self._kind, plan.batch)
        sign = self.signs(x)
        grad = GradientSaliency().GetMask(x, fn.call_model_function, {"sign": sign})
        return grad.astype(np.float32, copy=False)

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        fn = ctx.function(self._kind, None)
        args = {"sign": self._plain_sign(x)}
        return GradientSaliency().GetMask(x, fn.call_model_function, args).astype(np.float32)
