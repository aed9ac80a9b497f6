"""SCORECAM: Score-CAM (Wang et al., 2020): each channel of the Grad-CAM layer, upsampled and
scaled to [0, 1], masks the image; the channels are weighted by the softmax of the masked
images' scores.

Per image: the layer's ``c`` channels ``A_k``, each upsampled to ``S x S`` with the cells on
their receptive-field centres (or stretched, ``grid``) and min-max scaled to ``M_k``; the masked
input ``b + (x - b) M_k`` (``b`` = ``baseline``, black by default: what is masked out is dark,
as absent tissue on a radiograph); ``w = softmax_k(sign * logit(masked_k))``; the grid
``relu(sum_k w_k A_k)`` upsampled as Grad-CAM's. ``c + 1`` model evaluations per image (one for
the layer, one forward pass per channel), no gradient; the forward passes of an image go through
the compiled forward function at the engine's batch.
"""

from __future__ import annotations

import numpy as np
from saliency.core.base import CONVOLUTION_LAYER_VALUES, OUTPUT_LAYER_VALUES

from saliency_audit.saliency.gradcam import GradCam, interpolation_matrix, upsample_grid
from saliency_audit.saliency.integrated_gradients import BLACK
from saliency_audit.saliency.postprocess import RECIPE as POSTPROCESS_RECIPE


def channel_masks(values: np.ndarray, size: int, alignment) -> np.ndarray:
    """``(c, S, S)`` masks in [0, 1] of one image's layer values ``(h, w, c)``: each channel
    bilinearly upsampled (cells on ``alignment``'s centres, or stretched over the image as
    ``skimage.transform.resize`` places them) and min-max scaled (a constant channel -> 0)."""
    h, w, _ = values.shape
    if alignment is None:
        alignment = ((size / h, (size / h - 1) / 2), (size / w, (size / w - 1) / 2))
    (sr, br), (sc, bc) = alignment
    rows = interpolation_matrix(h, size, sr, br)
    cols = interpolation_matrix(w, size, sc, bc)
    m = np.einsum("ph,hwk,qw->kpq", rows, values.astype(np.float32), cols)
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span > 0, (m - lo) / span, 0.0).astype(np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z))
    return e / e.sum()


class ScoreCam(GradCam):
    """Score-CAM at the Grad-CAM layer; raw ``(B, S, S, 1)``."""

    name = "SCORECAM"
    defaults = {"grid": "receptive_field", "baseline": BLACK}
    kinds = ("gradcam", "forward")
    recipe = (
        "Score-CAM: ReLU(sum_k w_k A_k), w = softmax over channels of the logit of the image "
        "masked by each channel (upsampled, min-max scaled; masked-out pixels black), divided "
        "by its maximum, bilinearly upsampled ({placement}); then " + POSTPROCESS_RECIPE
    )

    @property
    def gradient_evaluations(self) -> int:
        """Model evaluations per image: the layer's values and one forward pass per channel
        (no gradient; before the method is bound: 1)."""
        if self.ctx is None:
            return 1
        if self._channels is None:  # one call reads the layer's depth; kept until rebound
            values = self.ctx.function("gradcam", None).call_model_function(
                np.zeros((1, *self.ctx.image_shape), np.float32), {"sign": 1.0}
            )[CONVOLUTION_LAYER_VALUES]
            self._channels = int(values.shape[-1])
        return 1 + self._channels

    _channels: int | None = None

    def bind(self, ctx, plan) -> None:
        super().bind(ctx, plan)
        self._channels = None

    def _grid(self, forward, values, x: np.ndarray, sign: float, align, chunk: int) -> np.ndarray:
        """The Score-CAM grid of one image (layer ``values`` ``(h, w, c)``), the masked images
        ``chunk`` at a time through ``forward``."""
        b = self._params["baseline"]
        masks = channel_masks(values, x.shape[0], align)
        scores = np.empty(len(masks), np.float64)
        for start in range(0, len(masks), chunk):
            m = masks[start : start + chunk, ..., None]
            z = forward.run(b + (x[None] - b) * m)[OUTPUT_LAYER_VALUES]
            scores[start : start + len(m)] = sign * z
        w = softmax(scores)
        return np.maximum(np.tensordot(values, w, axes=([2], [0])), 0.0).astype(np.float32)

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        sign = self.signs(x)
        data = ctx.function("gradcam", plan.batch).call_model_function(
            x, {"sign": sign}, [CONVOLUTION_LAYER_VALUES]
        )
        forward, align = ctx.function("forward", plan.batch), self.alignment(ctx)
        values = data[CONVOLUTION_LAYER_VALUES]
        chunk = forward.batch or values.shape[-1]  # masked images per call
        out = np.empty((*x.shape[:3], 1), np.float32)
        for i in range(x.shape[0]):
            grid = self._grid(forward, values[i], x[i], sign[i], align, chunk)
            out[i, ..., 0] = upsample_grid(grid, x.shape[1], align)
        return out

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """One image, the layer and each masked image through unbatched calls."""
        ctx, _ = self._require_bound()
        sign = self._plain_sign(x)
        values = ctx.function("gradcam", None).call_model_function(
            x[None], {"sign": sign}, [CONVOLUTION_LAYER_VALUES]
        )[CONVOLUTION_LAYER_VALUES][0]
        align = self.alignment(ctx)
        grid = self._grid(ctx.function("forward", None), values, x, sign, align, 1)
        return upsample_grid(grid, x.shape[0], align)[..., None]
