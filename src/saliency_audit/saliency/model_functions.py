"""Compiled model functions behind the ``saliency`` package's ``call_model_function`` convention.

A :class:`ModelContext` wraps one classifier behind a
:class:`~saliency_audit.backends.base.ModelBackend` (a Keras 3 model under TensorFlow, JAX or
PyTorch, or a PyTorch module) and hands out :class:`ModelFunction` objects, each compiled for
ONE fixed batch shape ``(G, S, S, 3)``. Their :meth:`ModelFunction.call_model_function`
accepts any leading shape ``(..., S, S, 3)`` (so a whole stack of images, noise samples or
integration steps can be handed to a ``saliency.core`` class as one "input"), flattens it, runs
it in chunks of ``G`` (the last chunk zero-padded) and reshapes the results back. Fixed shapes
mean one trace per function, whatever the number of images.

The explained scalar per input is ``sign * logit``: ``sign = +1`` explains the positive class,
``sign = -1`` the negative class of a one-logit binary classifier (its logit is ``-logit``).
Signs travel in ``call_model_args={"sign": array}``, broadcast against the leading dimensions.
"""

from __future__ import annotations

import time

import numpy as np
from saliency.core.base import (
    CONVOLUTION_LAYER_VALUES,
    CONVOLUTION_OUTPUT_GRADIENTS,
    INPUT_OUTPUT_GRADIENTS,
    OUTPUT_LAYER_VALUES,
)

from saliency_audit.backends.base import KINDS, ModelBackend

_KEYS = {
    "forward": (OUTPUT_LAYER_VALUES,),
    "input": (INPUT_OUTPUT_GRADIENTS, OUTPUT_LAYER_VALUES),
    "guided": (INPUT_OUTPUT_GRADIENTS, OUTPUT_LAYER_VALUES),
    "gradcam": (CONVOLUTION_LAYER_VALUES, CONVOLUTION_OUTPUT_GRADIENTS, OUTPUT_LAYER_VALUES),
}


class ModelFunction:
    """One compiled function of a model at a fixed batch size ``batch`` (``None``: any batch).

    ``kind``: ``"forward"`` (logits), ``"input"`` (d sign*logit / d input), ``"guided"`` (the
    same through guided ReLUs) or ``"gradcam"`` (conv layer values and d sign*logit / d conv).
    """

    def __init__(self, kind: str, backend: ModelBackend, batch: int | None):
        self.kind = kind
        self.batch = batch
        self.image_shape = tuple(backend.image_shape)
        self.keys = _KEYS[kind]
        self.calls = 0  # compiled calls made
        self.inputs_run = 0  # inputs evaluated, padding included
        self.seconds = 0.0  # wall time inside compiled calls
        self._fn = backend.compile(kind, batch)

    def run(self, x: np.ndarray, sign: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """``x`` ``float32 (n, S, S, 3)``, ``sign`` ``(n,)`` (default +1) -> ``{key: (n, ...)}``."""
        x = np.asarray(x, dtype=np.float32)
        n = x.shape[0]
        sign = np.ones(n, np.float32) if sign is None else np.asarray(sign, np.float32)
        g = self.batch or max(n, 1)
        outs: list[np.ndarray] | None = None
        for start in range(0, n, g):
            xb, sb = x[start : start + g], sign[start : start + g]
            k = xb.shape[0]
            if k < g and self.batch is not None:
                xb = np.concatenate([xb, np.zeros((g - k, *xb.shape[1:]), np.float32)])
                sb = np.concatenate([sb, np.ones(g - k, np.float32)])
            t0 = time.perf_counter()
            res = [r[:k] for r in self._fn(xb, sb)]
            self.seconds += time.perf_counter() - t0
            self.calls += 1
            self.inputs_run += xb.shape[0]
            if outs is None:
                outs = [np.empty((n, *r.shape[1:]), r.dtype) for r in res]
            for o, r in zip(outs, res, strict=True):
                o[start : start + k] = r
        if outs is None:  # n == 0
            return {key: np.zeros((0,), np.float32) for key in self.keys}
        return dict(zip(self.keys, outs, strict=True))

    def call_model_function(self, x_value_batch, call_model_args=None, expected_keys=None):
        """The ``saliency.core`` convention: any ``(..., S, S, 3)`` batch -> dict of outputs.

        ``call_model_args`` may hold ``"sign"``, broadcastable to the leading dimensions.
        """
        x = np.asarray(x_value_batch)
        lead = x.shape[: x.ndim - 3]
        if tuple(x.shape[x.ndim - 3 :]) != self.image_shape:
            raise ValueError(f"expected (..., {self.image_shape}) inputs, got {x.shape}")
        sign = (call_model_args or {}).get("sign", 1.0)
        sign = np.broadcast_to(np.asarray(sign, np.float32), lead).reshape(-1)
        res = self.run(x.reshape(-1, *self.image_shape).astype(np.float32, copy=False), sign)
        keys = self.keys if expected_keys is None else expected_keys
        return {key: res[key].reshape(*lead, *res[key].shape[1:]) for key in keys}


class ModelContext:
    """The model of one saliency job and the compiled functions of its methods (cached).

    ``model``: a :class:`~saliency_audit.backends.base.ModelBackend`, or a built Keras 3 model
    (input ``(None, S, S, 3)``, output ``(None, 1)`` logits; wrapped in the Keras backend).
    ``positive_class``: explain the positive class (True) or each image's predicted class.
    ``gradcam_layer``: the layer Grad-CAM reads (a Keras layer name, e.g. ``"mixed10"``, or a
    PyTorch module path); a backend's own wins when this is ``None``.
    ``fixed_batch``: compile every function at this one batch size (see :meth:`function`).
    """

    def __init__(
        self,
        model,
        *,
        positive_class: bool = True,
        gradcam_layer: str | None = None,
        fixed_batch: int | None = None,
    ):
        if not isinstance(model, ModelBackend):
            from saliency_audit.backends.keras_model import KerasBackend

            model = KerasBackend(model, gradcam_layer=gradcam_layer)
        elif gradcam_layer:
            model.gradcam_layer = gradcam_layer
        self.backend = model
        self.model = getattr(model, "model", model)
        self.size = model.size
        self.image_shape = model.image_shape
        self.positive_class = bool(positive_class)
        self.fixed_batch = int(fixed_batch) if fixed_batch else None
        self._functions: dict = {}

    @property
    def gradcam_layer(self) -> str | None:
        return self.backend.gradcam_layer

    @property
    def trace_counts(self):
        """Traces by ``(kind, batch)``."""
        return self.backend.trace_counts

    @property
    def trace_count(self) -> int:
        """Number of traces so far (one per (kind, batch) when all is well)."""
        return self.backend.trace_count

    @property
    def functions(self) -> dict[tuple[str, int | None], ModelFunction]:
        """The compiled functions made so far, by ``(kind, batch)``."""
        return dict(self._functions)

    def prepare(self, kind: str) -> None:
        """Build what ``kind`` needs now (guided copy, Grad-CAM layer): fail early."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
        self.backend.prepare(kind)

    def keras_model(self, kind: str):
        """The Keras model behind ``kind`` (Keras backend only)."""
        return self.backend.keras_model(kind)

    @property
    def gradcam_alignment(self):
        """Where the Grad-CAM layer's cells sit in the image (see
        :func:`saliency_audit.saliency._graph.grid_alignment`); ``None``: not derivable, the grid
        is then stretched over the image."""
        return self.backend.gradcam_alignment

    def sync_weights(self) -> None:
        """Call after changing the model's weights in place (e.g. randomization): compiled
        functions read the variables directly; only guided copies of layers need a refresh."""
        self.backend.sync_weights()

    def function(self, kind: str, batch: int | None) -> ModelFunction:
        """Compiled ``kind`` function at fixed ``batch`` (``None``: unpadded, any batch).

        With ``fixed_batch``, every batch up to it compiles at ``fixed_batch`` (inputs padded):
        methods sharing this context then share one trace per kind, which on a CPU costs
        seconds for a large network, far more than the padded inputs.
        """
        if self.fixed_batch and batch is not None and batch <= self.fixed_batch:
            batch = self.fixed_batch
        key = (kind, batch)
        if key not in self._functions:
            self._functions[key] = ModelFunction(kind, self.backend, batch)
        return self._functions[key]

    def signs(self, x: np.ndarray, batch: int | None) -> np.ndarray:
        """``(n,)`` float32 sign of the explained class for clean inputs ``x`` ``(n, S, S, 3)``.

        +1 everywhere with ``positive_class``; else the predicted class (logit >= 0 -> +1).
        """
        n = np.asarray(x).shape[0]
        if self.positive_class:
            return np.ones(n, np.float32)
        z = self.function("forward", batch).run(x)[OUTPUT_LAYER_VALUES]
        return np.where(z >= 0, 1.0, -1.0).astype(np.float32)
