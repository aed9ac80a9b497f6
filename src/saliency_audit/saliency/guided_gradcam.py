"""GGCAM: guided Grad-CAM = normalised GBP map x normalised Grad-CAM map."""

from __future__ import annotations

import numpy as np

from saliency_audit.saliency.base import SaliencyMethod
from saliency_audit.saliency.gradcam import GRIDS, GradCam, describe_grid
from saliency_audit.saliency.guided_backprop import GuidedBackprop
from saliency_audit.saliency.postprocess import minmax_batch, postprocess, postprocess_batch


class GuidedGradCam(SaliencyMethod):
    """``postprocess(GBP) * postprocess(GCAM)`` per pixel; raw ``(B, S, S, 1)`` in [0, 1].

    Each factor is normalised with the map recipe (|.| summed over channels, 99th-percentile
    clip, [0, 1]) before the product, so neither method's scale dominates.
    """

    name = "GGCAM"
    #: ``grid``: how GCAM's grid is upsampled; ``scaling``: of the product, ``percentile`` (the
    #: recipe of every map: 99th-percentile clip, [0, 1]) or ``minmax`` (no clip, as the
    #: paper's code)
    defaults: dict = {"grid": "receptive_field", "scaling": "percentile"}
    choices = {"grid": GRIDS, "scaling": ("percentile", "minmax")}
    kinds = ("guided", "gradcam")

    def __init__(self, **params):
        super().__init__(**params)
        self._gbp, self._gcam = GuidedBackprop(), GradCam(grid=self._params["grid"])

    def display(self, raw: np.ndarray) -> np.ndarray:
        if self._params["scaling"] == "minmax":
            return minmax_batch(raw)
        return super().display(raw)

    def describe(self) -> dict:
        ctx, _ = self._require_bound()
        out = describe_grid(self, self._gcam.alignment(ctx))
        if self._params["scaling"] == "minmax":
            then = "min-max scaled to [0, 1] without a clip"
        else:
            then = "the recipe again"
        out["recipe"] = (
            "Guided Grad-CAM: the product of the GBP map and the Grad-CAM map, each made by "
            f"the recipe below, then {then}. {out['recipe']}"
        )
        return out

    @property
    def gradient_evaluations(self) -> int:
        return 2  # one guided input gradient + one gradient at the Grad-CAM layer

    def bind(self, ctx, plan) -> None:
        super().bind(ctx, plan)
        self._gbp.bind(ctx, plan)
        self._gcam.bind(ctx, plan)

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        self._require_bound()
        gbp = postprocess_batch(self._gbp.compute(batch_inputs, seeds))
        gcam = postprocess_batch(self._gcam.compute(batch_inputs, seeds))
        return (gbp * gcam)[..., None]

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        self._require_bound()
        gbp = postprocess(self._gbp.reference(x, seed))
        gcam = postprocess(self._gcam.reference(x, seed))
        return (gbp * gcam)[..., None]
