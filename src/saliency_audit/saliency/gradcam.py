"""GCAM: Grad-CAM at a named convolutional layer (``saliency.core.GradCam``), upsampled to S."""

from __future__ import annotations

import numpy as np
from saliency.core import GradCam as CoreGradCam
from saliency.core.base import CONVOLUTION_LAYER_VALUES, CONVOLUTION_OUTPUT_GRADIENTS

from saliency_audit.saliency.base import SaliencyMethod


def _replay(data: dict, i: int):
    """A ``call_model_function`` that returns image ``i``'s precomputed layer values/gradients."""

    def call_model_function(x_value_batch, call_model_args=None, expected_keys=None):
        keys = expected_keys or (CONVOLUTION_LAYER_VALUES, CONVOLUTION_OUTPUT_GRADIENTS)
        return {k: data[k][i : i + 1] for k in keys}

    return call_model_function


class GradCam(SaliencyMethod):
    """Grad-CAM: ReLU(sum_c mean(d logit / d A_c) A_c), scaled by its max, resized to ``S``.

    The layer's values and gradients of all ``B`` images come from one compiled call; each
    image's map is then made by ``GradCam.GetMask`` (``should_resize=True``, i.e. divided by its
    maximum and bilinearly resized with scikit-image) from those values. Raw ``(B, S, S, 1)``.
    """

    name = "GCAM"
    defaults: dict = {}
    kinds = ("gradcam",)
    needs_gradcam_layer = True

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        fn = ctx.function("gradcam", plan.batch)
        data = fn.call_model_function(x, {"sign": self.signs(x)}, list(CoreGradCam.expected_keys))
        out = np.empty((*x.shape[:3], 1), np.float32)
        core = CoreGradCam()
        for i in range(x.shape[0]):
            out[i, ..., 0] = core.GetMask(
                x[i], _replay(data, i), should_resize=True, three_dims=False
            )
        return out

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        fn = ctx.function("gradcam", None)
        mask = CoreGradCam().GetMask(
            x,
            fn.call_model_function,
            {"sign": self._plain_sign(x)},
            should_resize=True,
            three_dims=False,
        )
        return np.asarray(mask, np.float32)[..., None]
