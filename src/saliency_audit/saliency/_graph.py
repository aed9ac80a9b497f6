"""Rebuild a Keras 3 model as one flat functional graph (shared layers, nested models inlined).

Used to expose an inner layer's output for Grad-CAM (also when it sits inside a nested
``keras.applications`` sub-model) and to swap ReLUs for guided ReLUs. The rebuilt graph reuses
the original layer objects (same weights) except for layers that ``replace`` swaps out.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from saliency_audit.errors import InputError


def _is_functional(layer) -> bool:
    return (
        isinstance(layer, keras.Model)
        and hasattr(layer, "_run_through_graph")
        and hasattr(layer, "_nodes_by_depth")
    )


def iter_layers(model):
    """All non-model layers of ``model``, nested Sequential/Functional models expanded."""
    for layer in model.layers:
        if isinstance(layer, keras.Sequential) or _is_functional(layer):
            yield from iter_layers(layer)
        else:
            yield layer


def rebuild(
    model: keras.Model,
    *,
    replace: Callable | None = None,
    capture: str | None = None,
) -> keras.Model:
    """Flat functional copy of ``model``.

    ``replace(layer, x) -> tensor`` (optional) is called instead of ``layer(x)`` for every leaf
    layer and may return ``None`` to keep the original call. With ``capture`` (a layer name), the
    result has two outputs ``[captured layer output, model output]``.
    """
    if not (isinstance(model, keras.Sequential) or _is_functional(model)):
        raise InputError(
            f"model {model.name!r} is a subclassed Keras model; saliency methods that need an "
            "inner layer or guided ReLUs require a Functional or Sequential model"
        )
    captured = []

    def dispatch(layer, *args, **kwargs):
        if isinstance(layer, keras.Sequential):
            x = args[0]
            for sub in layer.layers:
                x = dispatch(sub, x)
            return x
        if _is_functional(layer):
            return layer._run_through_graph(args[0], operation_fn=lambda op: op, call_fn=dispatch)
        out = replace(layer, *args, **kwargs) if replace is not None else None
        if out is None:
            out = layer(*args, **kwargs)
        if capture is not None and layer.name == capture:
            captured.append(out)
        return out

    in_shape = tuple(model.inputs[0].shape)
    inputs = keras.Input(batch_shape=in_shape, dtype=model.inputs[0].dtype)
    outputs = dispatch(model, inputs)
    if capture is None:
        return keras.Model(inputs, outputs, name=f"{model.name}_flat")
    if not captured:
        names = [layer.name for layer in iter_layers(model)]
        tail = ", ".join(names[-8:])
        raise InputError(
            f"gradcam_layer {capture!r} is not a layer of model {model.name!r} "
            f"(its last layers: {tail})"
        )
    if len(captured) > 1:
        raise InputError(
            f"gradcam_layer {capture!r} occurs {len(captured)} times in model {model.name!r}; "
            "it must name one layer call"
        )
    return keras.Model(inputs, [captured[0], outputs], name=f"{model.name}_with_{capture}")
