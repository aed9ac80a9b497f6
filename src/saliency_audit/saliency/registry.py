"""Method names (as in the paper and the config) -> classes.

The paper's eight methods come first and are ``saliency.methods``' default; the methods beyond
the paper (Blur IG, Guided IG, Grad-CAM++, Score-CAM, occlusion) are there to be named.
"""

from __future__ import annotations

from typing import Any

from saliency_audit.errors import InputError
from saliency_audit.saliency.base import SaliencyMethod
from saliency_audit.saliency.blur_ig import BlurIG
from saliency_audit.saliency.gradcam import GradCam
from saliency_audit.saliency.gradcam_pp import GradCamPlusPlus
from saliency_audit.saliency.gradient import Gradient
from saliency_audit.saliency.guided_backprop import GuidedBackprop
from saliency_audit.saliency.guided_gradcam import GuidedGradCam
from saliency_audit.saliency.guided_ig import GuidedIG
from saliency_audit.saliency.integrated_gradients import IntegratedGradients
from saliency_audit.saliency.occlusion import Occlusion
from saliency_audit.saliency.scorecam import ScoreCam
from saliency_audit.saliency.smooth_ig import SmoothIG
from saliency_audit.saliency.smoothgrad import SmoothGrad
from saliency_audit.saliency.xrai import XRAI

METHODS: dict[str, type[SaliencyMethod]] = {
    cls.name: cls
    for cls in (
        Gradient,
        SmoothGrad,
        IntegratedGradients,
        SmoothIG,
        GradCam,
        XRAI,
        GuidedBackprop,
        GuidedGradCam,
        BlurIG,
        GuidedIG,
        GradCamPlusPlus,
        ScoreCam,
        Occlusion,
    )
}
#: the paper's methods, in its order: ``saliency.methods``' default
PAPER_METHODS = ("GRAD", "SG", "IG", "SIG", "GCAM", "XRAI", "GBP", "GGCAM")


def method_names() -> list[str]:
    """The valid method names: the paper's, in its order, then the others."""
    return list(METHODS)


def paper_method_names() -> list[str]:
    """The paper's eight methods (the default of ``saliency.methods``)."""
    return list(PAPER_METHODS)


def get_method(name: str, **params: Any) -> SaliencyMethod:
    """A configured method by (case-insensitive) name; :class:`InputError` for unknown names or
    parameters (the message lists the valid ones)."""
    key = str(name).strip().upper()
    if key not in METHODS:
        raise InputError(f"unknown saliency method {name!r}; valid: {', '.join(METHODS)}")
    return METHODS[key](**params)
