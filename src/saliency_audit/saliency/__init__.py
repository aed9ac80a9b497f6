"""Saliency engine: eight methods behind one interface, batched, streamed to a float16 stack.

>>> engine = SaliencyEngine(model, "SG", batch_size=32)          # doctest: +SKIP
>>> engine.compute_maps(images, indices, "sg.npy", seed=0)        # doctest: +SKIP

The engine reaches the model through a :class:`~saliency_audit.backends.base.ModelBackend`
(Keras 3 under TensorFlow, JAX or PyTorch; PyTorch modules). The method classes and
:mod:`~saliency_audit.saliency.registry` import without any framework (the workflow checks
method names and parameters when it parses the config); the engine and the model functions
load one when a model is opened.
"""

from importlib import import_module

# Imported eagerly (NumPy only): the function shares its submodule's name, and the package
# attribute must be the function, not the module.
from saliency_audit.saliency.postprocess import postprocess as postprocess
from saliency_audit.saliency.postprocess import postprocess_batch as postprocess_batch

_EXPORTS = {
    "METHODS": "registry",
    "get_method": "registry",
    "method_names": "registry",
    "paper_method_names": "registry",
    "Plan": "base",
    "SaliencyMethod": "base",
    "image_seed": "base",
    "plan_batches": "base",
    "SaliencyEngine": "engine",
    "ModelContext": "model_functions",
    "ModelFunction": "model_functions",
}

__all__ = sorted([*_EXPORTS, "postprocess", "postprocess_batch"])


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
