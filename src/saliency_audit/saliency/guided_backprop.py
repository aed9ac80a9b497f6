"""GBP: guided backpropagation (Springenberg et al., 2015) through the model's guided copy.

``saliency.core`` has no guided backprop for Keras 3: :mod:`saliency_audit.saliency._guided`
builds a copy of the model whose ReLUs pass a gradient only where both the forward input and the
incoming gradient are positive; gradients of that copy then go through ``GradientSaliency``
like GRAD.
"""

from __future__ import annotations

from saliency_audit.saliency.gradient import Gradient


class GuidedBackprop(Gradient):
    """Guided backpropagation: ``GradientSaliency`` on the guided clone; raw ``(B, S, S, 3)``."""

    name = "GBP"
    defaults: dict = {}
    kinds = ("guided",)
    _kind = "guided"
