"""A Keras 3 classifier under whichever Keras backend runs: TensorFlow, JAX or PyTorch.

The model: one input ``(None, S, S, 3)`` float32 in [-1, 1], one output logit ``(None, 1)``.
Per framework, the batched gradient functions are:

* TensorFlow: a ``tf.function`` (fixed input signature, one trace) around ``GradientTape``;
* JAX: ``jax.jit`` of ``jax.grad`` over ``model.stateless_call``, the weights passed in on every
  call (so randomized weights are seen without retracing);
* PyTorch: eager ``torch.autograd.grad`` on the device Keras chose.

Grad-CAM reads a layer's activations and their gradient. TensorFlow's tape watches the layer's
output of a two-output copy of the model; JAX and PyTorch differentiate with respect to a zero
tensor added to that output (a second input of the copy), which is the same gradient.
"""

from __future__ import annotations

import numpy as np

from saliency_audit.backends.base import KINDS, ModelBackend
from saliency_audit.errors import InputError


def keras_framework() -> str:
    """The active Keras backend's framework name."""
    import keras

    return keras.backend.backend()


class KerasBackend(ModelBackend):
    """A built Keras 3 model. ``arch``: its architecture's name in the model registry (for the
    randomization blocks); ``None`` for a model brought by the user (no blocks)."""

    name = "keras"

    def __init__(self, model, *, gradcam_layer: str | None = None, arch: str | None = None):
        import keras

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
        super().__init__(size=int(in_shape[1]), gradcam_layer=gradcam_layer)
        self.model = model
        self.arch = arch
        self._models: dict = {}
        self._alignment = None

    @property
    def framework(self) -> str:
        return keras_framework()

    @property
    def device(self) -> str:
        fw = self.framework
        if fw == "torch":
            from keras.src.backend.torch.core import get_device

            return str(get_device())
        if fw == "jax":
            import jax

            return str(jax.devices()[0])
        import tensorflow as tf

        return "/GPU:0" if tf.config.list_logical_devices("GPU") else "/CPU:0"

    def parameters(self) -> int:
        return int(self.model.count_params())

    # ------------------------------------------------------------------ model variants
    def keras_model(self, kind: str):
        """The Keras model behind ``kind`` (built once: guided clone, Grad-CAM two-output
        model; under JAX / PyTorch the Grad-CAM model takes a second, additive input)."""
        if kind not in self._models:
            from saliency_audit.saliency import _graph

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
                m = _graph.rebuild(
                    self.model,
                    capture=self.gradcam_layer,
                    perturb=self.framework != "tensorflow",
                )
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

    def prepare(self, kind: str) -> None:
        self.keras_model(kind)

    @property
    def gradcam_alignment(self):
        self.keras_model("gradcam")
        return self._alignment

    def sync_weights(self) -> None:
        if "guided" in self._models:
            from saliency_audit.saliency._guided import sync_guided_weights

            sync_guided_weights(self._models["guided"])

    # ------------------------------------------------------------------ compiled functions
    def compile(self, kind: str, batch: int | None):
        model = self.keras_model(kind)
        key = (kind, batch)
        make = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[self.framework]
        return make(kind, model, (batch, *self.image_shape), self.trace_counts, key)

    # ------------------------------------------------------------------ randomization
    def block_names(self) -> list[str]:
        if self.arch is None:
            return []
        from saliency_audit.models.registry import get_architecture

        return list(get_architecture(self.arch).block_names)

    def reinitialize(self, blocks, seed: int) -> int:
        from saliency_audit.models.randomize import reinitialize
        from saliency_audit.models.registry import block_layers

        if self.arch is None:
            raise InputError(f"model {self.model.name!r} has no architecture: no blocks to draw")
        parts = block_layers(self.model, self.arch)
        return sum(reinitialize(parts[b], seed, b) for b in blocks)

    def predict(self, x, batch: int = 32):
        return np.asarray(self.model.predict(x, batch_size=batch, verbose=0)).reshape(-1)

    def predict_on_batch(self, x):
        return self.model.predict_on_batch(x)

    def state(self):
        return [np.array(v) for v in self.model.weights]

    def restore(self, state) -> None:
        for var, value in zip(self.model.weights, state, strict=True):
            var.assign(value)


# ---------------------------------------------------------------------------- per framework


def _tensorflow(kind, model, shape, counter, key):
    import tensorflow as tf

    spec = [tf.TensorSpec(shape, tf.float32), tf.TensorSpec(shape[:1], tf.float32)]
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

    fn = tf.function(body, input_signature=spec)
    # Every function shares ``body``'s code; TF would count their (single) traces together
    # and warn about "frequent retracing". Each one traces once (trace_counts).
    fn._omit_frequent_tracing_warning = True

    def run(x, sign):
        return tuple(r.numpy() for r in fn(tf.constant(x), tf.constant(sign)))

    return run


def _layer_shape(model, batch: int) -> tuple:
    return (batch, *tuple(model.outputs[0].shape)[1:])


def _jax(kind, model, shape, counter, key):
    import jax
    import jax.numpy as jnp

    def logits(tv, ntv, inputs):
        out, _ = model.stateless_call(tv, ntv, inputs, training=False)
        return out

    if kind == "forward":

        def body(tv, ntv, x, sign):
            counter[key] += 1
            return (jnp.reshape(logits(tv, ntv, x), (-1,)),)

    elif kind in ("input", "guided"):

        def body(tv, ntv, x, sign):
            counter[key] += 1

            def f(x):
                z = jnp.reshape(logits(tv, ntv, x), (-1,))
                return jnp.sum(sign * z), z

            g, z = jax.grad(f, has_aux=True)(x)
            return g, z

    else:

        def body(tv, ntv, x, sign):
            counter[key] += 1

            def f(delta):
                conv, out = logits(tv, ntv, [x, delta])
                z = jnp.reshape(out, (-1,))
                return jnp.sum(sign * z), (conv, z)

            zero = jnp.zeros(_layer_shape(model, x.shape[0]), x.dtype)
            g, (conv, z) = jax.grad(f, has_aux=True)(zero)
            return conv, g, z

    fn = jax.jit(body)

    def run(x, sign):
        tv = [v.value for v in model.trainable_variables]
        ntv = [v.value for v in model.non_trainable_variables]
        return tuple(np.asarray(r) for r in fn(tv, ntv, jnp.asarray(x), jnp.asarray(sign)))

    return run


def _torch(kind, model, shape, counter, key):
    import torch
    from keras.src.backend.torch.core import get_device

    counter[key] += 1  # eager: one "trace" per function made
    device = get_device()

    def numpy(t):
        return t.detach().cpu().numpy()

    def run(x, sign):
        xt = torch.as_tensor(x, device=device)
        st = torch.as_tensor(sign, device=device)
        if kind == "forward":
            with torch.no_grad():
                return (numpy(model(xt, training=False).reshape(-1)),)
        with torch.enable_grad():
            if kind in ("input", "guided"):
                xt.requires_grad_(True)
                z = model(xt, training=False).reshape(-1)
                (g,) = torch.autograd.grad((st * z).sum(), xt)
                return numpy(g), numpy(z)
            delta = torch.zeros(_layer_shape(model, len(x)), device=device, requires_grad=True)
            conv, out = model([xt, delta], training=False)
            z = out.reshape(-1)
            (g,) = torch.autograd.grad((st * z).sum(), delta)
            return numpy(conv), numpy(g), numpy(z)

    return run
