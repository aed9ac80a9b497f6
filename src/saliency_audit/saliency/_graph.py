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
    perturb: bool = False,
) -> keras.Model:
    """Flat functional copy of ``model``.

    ``replace(layer, x) -> tensor`` (optional) is called instead of ``layer(x)`` for every leaf
    layer and may return ``None`` to keep the original call. With ``capture`` (a layer name), the
    result has two outputs ``[captured layer output, model output]``; with ``perturb`` also a
    second input, added to the captured output (feed zeros: its gradient is the gradient with
    respect to the layer's output, for frameworks that differentiate inputs only).
    """
    if not (isinstance(model, keras.Sequential) or _is_functional(model)):
        raise InputError(
            f"model {model.name!r} is a subclassed Keras model; saliency methods that need an "
            "inner layer or guided ReLUs require a Functional or Sequential model"
        )
    captured = []
    deltas = []

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
            if perturb and not deltas and len(tuple(out.shape)) == 4:
                deltas.append(keras.Input(shape=tuple(out.shape)[1:], name=f"{capture}_delta"))
                out = keras.layers.Add(name=f"{capture}_perturbed")([out, deltas[0]])
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
    model_inputs = [inputs, *deltas] if deltas else inputs
    return keras.Model(model_inputs, [captured[0], outputs], name=f"{model.name}_with_{capture}")


# --------------------------------------------------------------------------- grid alignment

Alignment = tuple[tuple[float, float], tuple[float, float]]
_IDENTITY: Alignment = ((1.0, 0.0), (1.0, 0.0))


def _local_map(op, n_in: tuple[int, int], n_out: tuple[int, int]) -> Alignment | None:
    """``(stride, offset)`` per axis: output cell ``i`` of ``op`` is centred on input index
    ``stride * i + offset``; ``None`` when ``op`` moves cells in a way not modelled here."""
    if getattr(op, "data_format", "channels_last") != "channels_last":
        return None
    name = type(op).__name__
    if "Transpose" in name or "UpSampling" in name or "Resizing" in name:
        return None
    if name == "ZeroPadding2D":
        (top, _), (left, _) = op.padding
        return ((1.0, -float(top)), (1.0, -float(left)))
    if name == "Cropping2D":
        (top, _), (left, _) = op.cropping
        return ((1.0, float(top)), (1.0, float(left)))
    window = getattr(op, "kernel_size", None) or getattr(op, "pool_size", None)
    if window is not None and hasattr(op, "strides") and hasattr(op, "padding"):
        dilation = getattr(op, "dilation_rate", (1, 1))
        out = []
        for axis in range(2):
            k = (int(window[axis]) - 1) * int(dilation[axis]) + 1
            s = int(op.strides[axis])
            before = 0
            if str(op.padding).lower() == "same":  # TensorFlow pads the extra pixel at the end
                before = max((n_out[axis] - 1) * s + k - n_in[axis], 0) // 2
            out.append((float(s), (k - 1) / 2.0 - before))
        return out[0], out[1]
    if n_in == n_out:  # normalisation, activation, merge, 1x1 maps: cells stay in place
        return _IDENTITY
    return None


def grid_alignment(model: keras.Model, tensor=None) -> Alignment | None:
    """Where the cells of an inner feature map sit in the input image.

    Returns ``((a_r, b_r), (a_c, b_c))``: cell ``(i, j)`` of ``tensor`` (default: the model's
    first output) is centred on input pixel ``(a_r * i + b_r, a_c * j + b_c)``, composed from
    the strides, kernel sizes and paddings of the layers between them. Networks with ``valid``
    padding (InceptionV3) trim borders, so their grid covers less than the image: InceptionV3's
    ``mixed2`` at 96 px is a 9x9 grid with centres at pixels 13, 21, ..., 77, not spread over
    0..95. ``None`` when a layer on the way is not modelled or branches disagree.
    """
    memo: dict[int, Alignment | None] = {}
    model_input = model.inputs[0]
    extra_inputs = {id(t) for t in model.inputs[1:]}  # rebuild(perturb=True)'s zero input

    def spatial(t) -> tuple[int, int] | None:
        shape = tuple(t.shape)
        if len(shape) != 4 or shape[1] is None or shape[2] is None:
            return None
        return int(shape[1]), int(shape[2])

    def walk(t) -> Alignment | None:
        key = id(t)
        if key in memo:
            return memo[key]
        memo[key] = None  # guards against cycles
        if t is model_input:
            memo[key] = _IDENTITY
            return _IDENTITY
        history = getattr(t, "_keras_history", None)
        if history is None:
            return None
        node = history.operation._inbound_nodes[history.node_index]
        n_out = spatial(t)
        candidates = []
        for u in node.input_tensors:
            if id(u) in extra_inputs:
                continue
            n_in = spatial(u)
            if n_in is None or n_out is None:
                continue
            upstream = walk(u)
            local = _local_map(history.operation, n_in, n_out)
            if upstream is None or local is None:
                return None
            candidates.append(
                tuple(
                    (ua * s, ua * c + ub) for (ua, ub), (s, c) in zip(upstream, local, strict=True)
                )
            )
        if not candidates or any(not _same(candidates[0], c) for c in candidates[1:]):
            return None
        memo[key] = candidates[0]
        return candidates[0]

    return walk(model.outputs[0] if tensor is None else tensor)


def _same(a: Alignment, b: Alignment, tol: float = 1e-6) -> bool:
    return all(
        abs(x - y) <= tol for pa, pb in zip(a, b, strict=True) for x, y in zip(pa, pb, strict=True)
    )
