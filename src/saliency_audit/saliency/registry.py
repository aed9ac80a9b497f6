"""Method names (as in the paper and the config) -> classes."""

from __future__ import annotations

from typing import Any

from saliency_audit.errors import InputError
from saliency_audit.saliency.base import SaliencyMethod
from saliency_audit.saliency.gradcam import GradCam
from saliency_audit.saliency.gradient import Gradient
from saliency_audit.saliency.guided_backprop import GuidedBackprop
from saliency_audit.saliency.guided_gradcam import GuidedGradCam
from saliency_audit.saliency.integrated_gradients import IntegratedGradients
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
    )
}


def method_names() -> list[str]:
    """The valid method names, in the paper's order."""
    return list(METHODS)


def get_method(name: str, **params: Any) -> SaliencyMethod:
    """A configured method by (case-insensitive) name; :class:`InputError` for unknown names or
    parameters (the message lists the valid ones)."""
    key = str(name).strip().upper()
    if key not in METHODS:
        raise InputError(f"unknown saliency method {name!r}; valid: {', '.join(METHODS)}")
    return METHODS[key](**params)
