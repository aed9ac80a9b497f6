"""GCAM: Grad-CAM at a named convolutional layer (``saliency.core.GradCam``), upsampled to S.

The layer's grid is upsampled to the image with each cell placed on the centre of its
receptive field (:func:`saliency_audit.saliency._graph.grid_alignment`), not stretched over
the whole image as ``GradCam.GetMask(should_resize=True)`` does. The two agree for networks
whose grid tiles the image (``same`` padding); for InceptionV3 (``valid`` padding) the stretch
moves evidence outwards by up to an eighth of the image (``mixed2`` at 96 px: cell centres at
pixels 13..77, stretched to 5..90; ``mixed10`` at 320 px: 37..261, stretched to 20..300).
"""

from __future__ import annotations

import numpy as np
from saliency.core import GradCam as CoreGradCam
from saliency.core.base import CONVOLUTION_LAYER_VALUES, CONVOLUTION_OUTPUT_GRADIENTS
from skimage.transform import resize

from saliency_audit.saliency.base import SaliencyMethod
from saliency_audit.saliency.postprocess import RECIPE as POSTPROCESS_RECIPE


def _replay(data: dict, i: int):
    """A ``call_model_function`` that returns image ``i``'s precomputed layer values/gradients."""

    def call_model_function(x_value_batch, call_model_args=None, expected_keys=None):
        keys = expected_keys or (CONVOLUTION_LAYER_VALUES, CONVOLUTION_OUTPUT_GRADIENTS)
        return {k: data[k][i : i + 1] for k in keys}

    return call_model_function


def interpolation_matrix(cells: int, size: int, stride: float, offset: float) -> np.ndarray:
    """``(size, cells)`` bilinear weights: pixel ``p`` reads the grid at ``(p - offset) /
    stride`` (cell ``k`` centred on pixel ``stride * k + offset``), held constant beyond the
    first and last cell centres. Rows sum to 1."""
    g = np.clip((np.arange(size) - offset) / stride, 0.0, cells - 1.0)
    return np.maximum(0.0, 1.0 - np.abs(g[:, None] - np.arange(cells)[None, :])).astype(np.float32)


def upsample_grid(grid: np.ndarray, size: int, alignment) -> np.ndarray:
    """Upsample a ``(h, w)`` Grad-CAM grid to ``(size, size)``: divided by its maximum (an
    all-zero grid stays 0), then bilinear with cells on their receptive-field centres
    (``alignment``: ``((stride, offset), (stride, offset))`` for rows and columns), or
    stretched over the image as the saliency package does when ``alignment`` is ``None``."""
    grid = np.asarray(grid, np.float32)
    top = float(grid.max()) if grid.size else 0.0
    if top > 0:
        grid = grid / top
    if alignment is None:
        return resize(grid, (size, size)).astype(np.float32)
    (sr, br), (sc, bc) = alignment
    rows = interpolation_matrix(grid.shape[0], size, sr, br)
    cols = interpolation_matrix(grid.shape[1], size, sc, bc)
    return rows @ grid @ cols.T


GRIDS = ("receptive_field", "stretch")
RECIPE = (
    "Grad-CAM: ReLU(sum_k mean(d logit / d A_k) A_k) at the Grad-CAM layer, divided by its "
    "maximum, bilinearly upsampled ({placement}); then " + POSTPROCESS_RECIPE
)


def describe_grid(method: SaliencyMethod, alignment, recipe: str | None = None) -> dict:
    """The sidecar entries of a Grad-CAM grid: layer, placement of its cells, recipe
    (``recipe``: a variant's own, with a ``{placement}`` field)."""
    if alignment is None:
        placement = centres = "grid stretched over the image"
        if method.params["grid"] != "stretch":
            centres += " (receptive-field centres not derivable)"
    else:  # cell k of the grid sits on pixel stride * k + offset
        placement = "each cell on its receptive-field centre"
        names = ("rows", "cols")
        centres = {
            n: {"stride": a, "offset": b} for n, (a, b) in zip(names, alignment, strict=True)
        }
    return {
        "recipe": (recipe or RECIPE).format(placement=placement),
        "gradcam_layer": method.ctx.gradcam_layer,
        "gradcam_cell_centres": centres,
    }


class GradCam(SaliencyMethod):
    """Grad-CAM: ReLU(sum_c mean(d logit / d A_c) A_c), scaled by its max, upsampled to ``S``.

    The layer's values and gradients of all ``B`` images come from one compiled call; each
    image's grid is made by ``GradCam.GetMask`` (``should_resize=False``) from those values and
    upsampled by :func:`upsample_grid` with the context's grid alignment (parameter ``grid``:
    ``receptive_field``, or ``stretch`` for the ``saliency`` package's resize). Raw ``(B, S, S,
    1)``.
    """

    name = "GCAM"
    defaults: dict = {"grid": "receptive_field"}
    choices = {"grid": GRIDS}
    kinds = ("gradcam",)

    #: the sidecar's recipe (a ``{placement}`` field); variants give their own
    recipe = RECIPE

    def describe(self) -> dict:
        ctx, _ = self._require_bound()
        return describe_grid(self, self.alignment(ctx), self.recipe)

    def alignment(self, ctx):
        """Cell centres for :func:`upsample_grid`: the layer's receptive-field centres
        (``grid: receptive_field``) or ``None``, stretched as the package does (``stretch``)."""
        return ctx.gradcam_alignment if self._params["grid"] == "receptive_field" else None

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        fn = ctx.function("gradcam", plan.batch)
        data = fn.call_model_function(x, {"sign": self.signs(x)}, list(CoreGradCam.expected_keys))
        out = np.empty((*x.shape[:3], 1), np.float32)
        core, align = CoreGradCam(), self.alignment(ctx)
        for i in range(x.shape[0]):
            grid = core.GetMask(x[i], _replay(data, i), should_resize=False, three_dims=False)
            out[i, ..., 0] = upsample_grid(grid, x.shape[1], align)
        return out

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        fn = ctx.function("gradcam", None)
        grid = CoreGradCam().GetMask(
            x,
            fn.call_model_function,
            {"sign": self._plain_sign(x)},
            should_resize=False,
            three_dims=False,
        )
        return upsample_grid(grid, x.shape[0], self.alignment(ctx))[..., None]
