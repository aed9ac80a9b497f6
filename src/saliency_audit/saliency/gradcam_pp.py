"""GCAMPP: Grad-CAM++ (Chattopadhay et al., 2018) at the Grad-CAM layer, upsampled like GCAM.

Per channel ``k`` the weight is ``sum_ij alpha_ij^k relu(g_ij^k)`` with ``alpha = g^2 / (2 g^2
+ sum_ab A_ab^k g^3)`` (``g`` = d logit / d A; the closed form for an exponential of the score,
whose factors cancel), 0 where the denominator is 0; the map is ``relu(sum_k w_k A^k)``. One
compiled call per batch gives every image's layer values and gradients, as for Grad-CAM.
"""

from __future__ import annotations

import numpy as np
from saliency.core.base import CONVOLUTION_LAYER_VALUES, CONVOLUTION_OUTPUT_GRADIENTS

from saliency_audit.saliency.gradcam import GradCam, upsample_grid
from saliency_audit.saliency.postprocess import RECIPE as POSTPROCESS_RECIPE


def gradcam_pp_grid(values: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Grad-CAM++ grids ``(B, h, w)`` of layer values and gradients ``(B, h, w, c)``."""
    a = np.asarray(values, np.float64)
    g = np.asarray(grads, np.float64)
    g2, g3 = g * g, g * g * g
    denom = 2.0 * g2 + a.sum(axis=(1, 2), keepdims=True) * g3
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(denom != 0, g2 / denom, 0.0)
    weights = (alpha * np.maximum(g, 0.0)).sum(axis=(1, 2))  # (B, c)
    return np.maximum(np.einsum("bhwc,bc->bhw", a, weights), 0.0).astype(np.float32)


class GradCamPlusPlus(GradCam):
    """Grad-CAM++ at the Grad-CAM layer; raw ``(B, S, S, 1)``; ``grid`` as for GCAM."""

    name = "GCAMPP"
    recipe = (
        "Grad-CAM++: ReLU(sum_k w_k A_k), w_k = sum_ij alpha_ij relu(d logit / d A_ij), "
        "alpha = g^2 / (2 g^2 + sum(A_k) g^3), divided by its maximum, bilinearly upsampled "
        "({placement}); then " + POSTPROCESS_RECIPE
    )

    def _grids(self, fn, x: np.ndarray, sign: np.ndarray) -> np.ndarray:
        keys = [CONVOLUTION_LAYER_VALUES, CONVOLUTION_OUTPUT_GRADIENTS]
        data = fn.call_model_function(x, {"sign": sign}, keys)
        return gradcam_pp_grid(data[keys[0]], data[keys[1]])

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        grids = self._grids(ctx.function("gradcam", plan.batch), x, self.signs(x))
        align = self.alignment(ctx)
        return np.stack([upsample_grid(g, x.shape[1], align) for g in grids])[..., None]

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        sign = np.array([self._plain_sign(x)], np.float32)
        grid = self._grids(ctx.function("gradcam", None), x[None], sign)[0]
        return upsample_grid(grid, x.shape[0], self.alignment(ctx))[..., None]
