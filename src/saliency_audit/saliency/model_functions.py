"""Compiled model functions behind the ``saliency`` package's ``call_model_function`` convention.

A :class:`ModelContext` wraps one Keras classifier (input ``(None, S, S, 3)`` float32, one output
logit ``(None, 1)``) and hands out :class:`ModelFunction` objects, each a ``tf.function`` compiled
for ONE fixed batch shape ``(G, S, S, 3)``. Their :meth:`ModelFunction.call_model_function`
accepts any leading shape ``(..., S, S, 3)`` (so a whole stack of images, noise samples or
integration steps can be handed to a ``saliency.core`` class as one "input"), flattens it, runs
it in chunks of ``G`` (the last chunk zero-padded) and reshapes the results back. Fixed shapes
mean one trace per function, whatever the number of images.

The explained scalar per input is ``sign * logit``: ``sign = +1`` explains the positive class,
``sign = -1`` the negative class of a one-logit binary classifier (its logit is ``-logit``).
Signs travel in ``call_model_args={"sign": array}``, broadcast against the leading dimensions.
"""

from __future__ import annotations

import collections
import time

import keras
import numpy as np
import tensorflow as tf
from saliency.core.base import (
    CONVOLUTION_LAYER_VALUES,
    CONVOLUTION_OUTPUT_GRADIENTS,
    INPUT_OUTPUT_GRADIENTS,
    OUTPUT_LAYER_VALUES,
)

from saliency_audit.errors import InputError
from saliency_audit.saliency import _graph

KINDS = ("forward", "input", "guided", "gradcam")

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

    def __init__(self, kind: str, keras_model, image_shape, batch: int | None, counter):
        self.kind = kind
        self.batch = batch
        self.image_shape = tuple(image_shape)
        self.keys = _KEYS[kind]
        self.calls = 0  # compiled calls made
        self.inputs_run = 0  # inputs evaluated, padding included
        self.seconds = 0.0  # wall time inside compiled calls
        self._counter = counter
        key = (kind, batch)
        spec = [
            tf.TensorSpec((batch, *self.image_shape), tf.float32),
            tf.TensorSpec((batch,), tf.float32),
        ]
        model = keras_model

        if kind == "forward":

            def body(x, sign):
                counter[key] += 1  # Python side effect: runs at trace time only
                return (tf.reshape(model(x, training=False), (-1,)),)

        elif kind in ("input", "guided"):

            def body(x, sign):
                counter[key] += 1
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    z = tf.reshape(model(x, training=False), (-1,))
                    target = tf.reduce_sum(sign * z)
                return tape.gradient(target, x), z

        else:

            def body(x, sign):
                counter[key] += 1
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    conv, out = model(x, training=False)
                    z = tf.reshape(out, (-1,))
                    target = tf.reduce_sum(sign * z)
                return conv, tape.gradient(target, conv), z

        self._fn = tf.function(body, input_signature=spec)
        # Every ModelFunction shares ``body``'s code; TF would count their (single) traces
        # together and warn about "frequent retracing". Each one traces once (trace_counts).
        self._fn._omit_frequent_tracing_warning = True

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
            res = self._fn(tf.constant(xb), tf.constant(sb))
            res = [r.numpy()[:k] for r in res]
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

    ``model``: a built Keras 3 model, input ``(None, S, S, 3)``, output ``(None, 1)`` logits.
    ``positive_class``: explain the positive class (True) or each image's predicted class.
    ``gradcam_layer``: name of the convolutional layer Grad-CAM reads (e.g. ``"mixed10"``).
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
        if not isinstance(model, keras.Model):
            raise InputError(f"expected a keras.Model, got {type(model).__name__}")
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise InputError(f"model {model.name!r} must have one input and one output")
        in_shape = tuple(model.inputs[0].shape)
        out_shape = tuple(model.outputs[0].shape)
        if len(in_shape) != 4 or in_shape[3] != 3 or in_shape[1] != in_shape[2] or not in_shape[1]:
            raise InputError(f"model {model.name!r} input must be (None, S, S, 3), got {in_shape}")
        if out_shape[1:] != (1,):
            raise InputError(
                f"model {model.name!r} must output one logit (None, 1), got {out_shape}"
            )
        self.model = model
        self.size = int(in_shape[1])
        self.image_shape = (self.size, self.size, 3)
        self.positive_class = bool(positive_class)
        self.gradcam_layer = gradcam_layer
        self.fixed_batch = int(fixed_batch) if fixed_batch else None
        self.trace_counts: collections.Counter = collections.Counter()
        self._functions: dict = {}
        self._models: dict = {}
        self._alignment = None

    @property
    def trace_count(self) -> int:
        """Number of ``tf.function`` traces so far (one per (kind, batch) when all is well)."""
        return sum(self.trace_counts.values())

    @property
    def functions(self) -> dict[tuple[str, int | None], ModelFunction]:
        """The compiled functions made so far, by ``(kind, batch)``."""
        return dict(self._functions)

    def keras_model(self, kind: str):
        """The Keras model behind ``kind`` (built once: guided clone, Grad-CAM two-output model)."""
        if kind not in self._models:
            if kind in ("forward", "input"):
                self._models[kind] = self.model
            elif kind == "guided":
                from saliency_audit.saliency._guided import guided_model

                self._models[kind] = guided_model(self.model)
            elif kind == "gradcam":
                if not self.gradcam_layer:
                    raise InputError(
                        "Grad-CAM (GCAM, GGCAM) needs gradcam_layer: the name of a "
                        "convolutional layer, e.g. 'mixed10' for InceptionV3, 'relu' or "
                        "'conv5_block16_concat' for DenseNet-121"
                    )
                m = _graph.rebuild(self.model, capture=self.gradcam_layer)
                if len(m.outputs[0].shape) != 4:
                    raise InputError(
                        f"gradcam_layer {self.gradcam_layer!r} must output (None, h, w, c), "
                        f"got {tuple(m.outputs[0].shape)}"
                    )
                self._models[kind] = m
                self._alignment = _graph.grid_alignment(m)
            else:
                raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
        return self._models[kind]

    @property
    def gradcam_alignment(self):
        """Where the Grad-CAM layer's cells sit in the image (see
        :func:`saliency_audit.saliency._graph.grid_alignment`); ``None``: not derivable, the grid
        is then stretched over the image."""
        self.keras_model("gradcam")
        return self._alignment

    def sync_weights(self) -> None:
        """Call after changing the model's weights in place (e.g. randomization): compiled
        functions read the variables directly; only guided copies of layers need a refresh."""
        if "guided" in self._models:
            from saliency_audit.saliency._guided import sync_guided_weights

            sync_guided_weights(self._models["guided"])

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
            self._functions[key] = ModelFunction(
                kind, self.keras_model(kind), self.image_shape, batch, self.trace_counts
            )
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
