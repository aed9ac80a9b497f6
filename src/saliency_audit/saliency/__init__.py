"""Saliency engine: eight methods behind one interface, batched, streamed to a float16 stack.

>>> engine = SaliencyEngine(model, "SG", batch_size=32)          # doctest: +SKIP
>>> engine.compute_maps(images, indices, "sg.npy", seed=0)        # doctest: +SKIP
"""

from saliency_audit.saliency.base import Plan, SaliencyMethod, image_seed, plan_batches
from saliency_audit.saliency.engine import SaliencyEngine
from saliency_audit.saliency.model_functions import ModelContext, ModelFunction
from saliency_audit.saliency.postprocess import postprocess, postprocess_batch
from saliency_audit.saliency.registry import METHODS, get_method, method_names

__all__ = [
    "METHODS",
    "ModelContext",
    "ModelFunction",
    "Plan",
    "SaliencyEngine",
    "SaliencyMethod",
    "get_method",
    "image_seed",
    "method_names",
    "plan_batches",
    "postprocess",
    "postprocess_batch",
]
