"""Guided ReLUs and the guided copy of a Keras model (any Keras backend; used by GBP/GGCAM).

GBP: guided backpropagation through a model clone whose ReLUs are guided ReLUs.

``saliency.core`` has no guided backprop for Keras 3, so :func:`guided_model` rebuilds the
model (nested sub-models inlined, weights shared or copied) with every ReLU — ``Activation("relu")``
layers, ``ReLU`` layers and layers built with ``activation="relu"`` — replaced by a
``keras.ops.custom_gradient`` ReLU whose backward pass lets a gradient through only where both
the forward input and the incoming gradient are positive (Springenberg et al., 2015). Gradients
of that clone then go through ``GradientSaliency`` like GRAD.
"""

from __future__ import annotations

import keras
from keras import ops

from saliency_audit.errors import InputError
from saliency_audit.saliency import _graph


def _upstream(args, upstream):
    # TensorFlow and JAX pass the incoming gradient positionally, PyTorch as ``upstream``
    return args[0] if upstream is None else upstream


@ops.custom_gradient
def guided_relu(x):
    """ReLU forward; backward ``dy * (dy > 0) * (x > 0)``."""
    y = ops.relu(x)

    def grad(*args, upstream=None):
        dy = _upstream(args, upstream)
        return dy * ops.cast(ops.greater(dy, 0), dy.dtype) * ops.cast(ops.greater(x, 0), dy.dtype)

    return y, grad


def guided(negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
    """Guided version of ``keras.activations.relu`` with these arguments: backward
    ``relu(dy) * relu'(x)``, ``relu'`` = 1 on ``(threshold, max_value)``, ``negative_slope``
    below ``threshold``, 0 above ``max_value``."""

    @ops.custom_gradient
    def g(x):
        y = keras.activations.relu(
            x, negative_slope=negative_slope, max_value=max_value, threshold=threshold
        )

        def grad(*args, upstream=None):
            dy = _upstream(args, upstream)
            d = ops.cast(ops.greater(x, threshold), dy.dtype)
            if max_value is not None:
                d = d * ops.cast(ops.less(x, max_value), dy.dtype)
            if negative_slope:
                d = d + negative_slope * ops.cast(ops.less(x, threshold), dy.dtype)
            return ops.relu(dy) * d

        return y, grad

    return g


def _is_relu(fn) -> bool:
    return getattr(fn, "__name__", None) == "relu" and fn is not None


def _relu_layer_fn(layer: keras.layers.ReLU):
    cfg = layer.get_config()
    slope = cfg.get("negative_slope", 0.0) or 0.0
    max_value, threshold = cfg.get("max_value"), cfg.get("threshold", 0.0) or 0.0
    if not slope and max_value is None and not threshold:
        return guided_relu
    return guided(slope, max_value, threshold)


def sync_guided_weights(flat: keras.Model) -> None:
    """Copy the original layers' current weights into the guided copies of ``flat``
    (layers whose fused ReLU had to be split off; all other layers are shared)."""
    for layer, clone in getattr(flat, "_guided_clones", ()):
        clone.set_weights(layer.get_weights())


def guided_model(model: keras.Model) -> keras.Model:
    """Flat copy of ``model`` with guided ReLUs (original weights; the original is untouched).

    Raises :class:`InputError` if the model has no ReLU (guided backprop would equal GRAD).
    """
    clones: dict[int, tuple] = {}
    count = [0]

    def replace(layer, *args, **kwargs):
        if isinstance(layer, keras.layers.ReLU):
            count[0] += 1
            return keras.layers.Activation(_relu_layer_fn(layer), name=layer.name)(*args)
        act = getattr(layer, "activation", None)
        if isinstance(layer, keras.layers.Activation) and _is_relu(act):
            count[0] += 1
            return keras.layers.Activation(guided_relu, name=layer.name)(*args)
        if _is_relu(act) and not isinstance(layer, keras.layers.Activation):
            count[0] += 1
            if id(layer) not in clones:
                cfg = layer.get_config()
                cfg["activation"] = "linear"
                clone = layer.__class__.from_config(cfg)
                clones[id(layer)] = (layer, clone)
            clone = clones[id(layer)][1]
            return keras.layers.Activation(guided_relu, name=f"{layer.name}_guided_relu")(
                clone(*args, **kwargs)
            )
        return None

    flat = _graph.rebuild(model, replace=replace)
    flat._guided_clones = list(clones.values())  # (original, copy): see sync_guided_weights
    sync_guided_weights(flat)
    if count[0] == 0:
        raise InputError(
            f"model {model.name!r} has no ReLU activations; guided backpropagation (GBP/GGCAM) "
            "is defined for ReLU networks"
        )
    return flat
