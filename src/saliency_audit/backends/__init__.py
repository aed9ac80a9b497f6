"""Model backends: one classifier behind a framework (see :mod:`.base`).

``keras``: a ``.keras`` file under the active Keras backend (TensorFlow, JAX or PyTorch);
``torch``: a PyTorch model (factory + state dict, ``torch.export`` or TorchScript). Nothing here
imports a framework until a model is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

BACKENDS = ("keras", "torch")

#: keys of a PyTorch classifier's config (``models.classifiers.NAME.torch``) with defaults
TORCH_DEFAULTS = {
    "factory": None,
    "factory_args": {},
    "channels": 3,
    "mean": 0.0,
    "std": 1.0,
    "output_class": None,
    "gradcam_layer": None,
    "blocks": [],
}


def torch_spec(spec: dict | None) -> dict | None:
    """A classifier spec's PyTorch settings with defaults filled in (``None``: a Keras model)."""
    if not spec or "torch" not in spec:
        return None
    return {**TORCH_DEFAULTS, **spec["torch"]}


def configure(spec: dict | None, threads: int | None, *, seed: int) -> None:
    """Set up the framework that will run a classifier (threads, seeds, determinism): TensorFlow
    through :func:`~saliency_audit.models.tf_setup.configure_tensorflow`, PyTorch (a PyTorch
    classifier or Keras' PyTorch backend) through ``torch.set_num_threads`` and
    ``torch.manual_seed``; JAX needs nothing."""
    from saliency_audit.backends.keras_model import keras_framework

    framework = "torch" if torch_spec(spec) is not None else keras_framework()
    if framework == "tensorflow":
        from saliency_audit.models.tf_setup import configure_tensorflow

        configure_tensorflow(threads, seed=seed)
        return
    if framework == "jax":  # allocate GPU memory as needed, so auto batches see what is free
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if framework == "torch":
        from saliency_audit.backends.torch_model import require_torch

        torch = require_torch()
        if threads:
            torch.set_num_threads(int(threads))
        torch.manual_seed(int(seed))
        torch.use_deterministic_algorithms(True, warn_only=True)
    if torch_spec(spec) is None:
        import keras

        keras.utils.set_random_seed(int(seed))


def open_classifier(
    path,
    *,
    size: int,
    spec: dict | None = None,
    gradcam_layer: str | None = None,
    arch: str | None = None,
    device: str | None = None,
):
    """The classifier in ``path`` behind its backend.

    ``spec``: the model's config entry (a ``torch`` mapping makes it a PyTorch model, see
    :data:`TORCH_DEFAULTS`); ``gradcam_layer``: overrides the spec's / the layer found in a
    Keras model; ``arch``: the Keras architecture (randomization blocks).
    """
    torch_cfg = torch_spec(spec)
    if torch_cfg is not None:
        from saliency_audit.backends.torch_model import TorchBackend, load_module

        module, fmt = load_module(
            path, factory=torch_cfg["factory"], factory_args=torch_cfg["factory_args"]
        )
        return TorchBackend(
            module,
            size=size,
            channels=torch_cfg["channels"],
            mean=torch_cfg["mean"],
            std=torch_cfg["std"],
            output_class=torch_cfg["output_class"],
            gradcam_layer=gradcam_layer or torch_cfg["gradcam_layer"],
            blocks=torch_cfg["blocks"],
            device=device,
            fmt=fmt,
            source=str(Path(path)),
        )
    from saliency_audit.backends.keras_model import KerasBackend
    from saliency_audit.models.classifier import load_classifier
    from saliency_audit.models.registry import find_gradcam_layer

    model = load_classifier(path, size)
    layer = gradcam_layer or find_gradcam_layer(model)
    return KerasBackend(model, gradcam_layer=layer, arch=arch)
