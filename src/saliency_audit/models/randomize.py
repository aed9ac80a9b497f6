"""Weight randomization of a trained classifier: cascading (top-down) and independent.

Every weight of a layer is re-drawn from that layer's own initializer (``kernel`` from
``kernel_initializer``, BatchNorm ``gamma``/``moving_variance`` back to ones, ...), seeded per
(block, layer, weight), so a block gets the same random values whichever step randomizes it:
cascade step ``B`` = every block from the logits down to ``B`` re-drawn, the rest trained;
independent step ``B`` = only ``B`` re-drawn.

    >>> steps = randomization_steps(arch, ["logits", "mixed7", "stem"])    # doctest: +SKIP
    >>> with randomized(model, arch, steps[1], seed=5):                    # doctest: +SKIP
    ...     maps = engine.maps(images, rows, seed=0)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..seeds import derive_seed
from ..vocabulary import CASCADE, INDEPENDENT, step_name
from .registry import Architecture, get_architecture

#: ``Variable.path`` last component -> the layer attribute holding its initializer
_INITIALIZER_ATTR = {
    "kernel": "kernel_initializer",
    "depthwise_kernel": "depthwise_initializer",
    "pointwise_kernel": "pointwise_initializer",
    "bias": "bias_initializer",
    "gamma": "gamma_initializer",
    "beta": "beta_initializer",
    "moving_mean": "moving_mean_initializer",
    "moving_variance": "moving_variance_initializer",
    "embeddings": "embeddings_initializer",
}


@dataclass(frozen=True)
class Step:
    """One randomization step: ``name`` (as in outputs), ``kind`` and the blocks it re-draws."""

    name: str
    kind: str  # vocabulary.CASCADE | vocabulary.INDEPENDENT
    blocks: tuple[str, ...]


def block_label(block: str) -> str:
    """A block's name in step names and file names: a PyTorch module path's dots (and any
    other character outside ``[A-Za-z0-9_]``) become underscores."""
    return re.sub(r"[^A-Za-z0-9_]", "_", str(block))


def randomization_steps(
    arch: Architecture | str | Sequence[str],
    blocks: Sequence[str] | None = None,
    independent: bool = True,
    *,
    owner: str | None = None,
) -> list[Step]:
    """Steps for ``arch`` (an architecture, or a model's own blocks, top-down: a PyTorch
    classifier's module paths): cascade ``cascade_<B>`` for each chosen cut point ``B``
    (top-down; ``blocks=None``: every block) and, with ``independent``, ``independent_<B>``
    likewise. ``owner`` names the model in errors."""
    if isinstance(arch, str):
        arch = get_architecture(arch)
    if isinstance(arch, Architecture):
        names, owner = list(arch.block_names), owner or arch.name
    else:
        names = [str(b) for b in arch]
        if not names:
            raise InputError(
                f"config key randomization.models: {owner or 'the model'} has no randomization "
                "blocks (a PyTorch classifier names them in torch.blocks)"
            )
    chosen = list(names) if blocks is None else list(blocks)
    unknown = [b for b in chosen if b not in names]
    if unknown:
        raise InputError(
            f"config key randomization.blocks: {', '.join(map(repr, unknown))} not a block of "
            f"{owner} (its blocks, top-down: {', '.join(names)})"
        )
    labels = [block_label(b) for b in names]
    if len(set(labels)) != len(labels):
        raise InputError(f"{owner}: two blocks share the step name of {labels}")
    chosen = sorted(set(chosen), key=names.index)
    steps = [
        Step(step_name(CASCADE, block_label(b)), CASCADE, tuple(names[: names.index(b) + 1]))
        for b in chosen
    ]
    if independent:
        steps += [Step(step_name(INDEPENDENT, block_label(b)), INDEPENDENT, (b,)) for b in chosen]
    return steps


def _initializer(layer, weight_name: str, seed: int):
    import keras

    attr = _INITIALIZER_ATTR.get(weight_name)
    init = getattr(layer, attr, None) if attr else None
    if init is None:
        raise InputError(
            f"layer {layer.name!r} ({type(layer).__name__}) has weight {weight_name!r} "
            "without a known initializer; cannot randomize it"
        )
    init = keras.initializers.get(init)
    cfg = init.get_config()
    if "seed" in cfg:
        return init.__class__.from_config({**cfg, "seed": int(seed)})
    return init


def reinitialize(layers: Sequence, seed: int, block: str = "") -> int:
    """Re-draw every weight of ``layers`` from its initializer; returns the number of weights.

    Seeds derive from ``(seed, block, layer name, weight name)``.
    """
    n = 0
    for layer in layers:
        for var in layer.weights:
            wname = var.path.split("/")[-1]
            s = derive_seed(seed, "randomize", block, layer.name, wname) % (2**31 - 1)
            init = _initializer(layer, wname, s)
            value = np.asarray(init(tuple(var.shape), dtype=var.dtype))
            var.assign(value)
            n += 1
    return n


@contextlib.contextmanager
def randomized(model, arch: Architecture | str, step: Step, seed: int) -> Iterator[dict]:
    """Randomize ``step``'s blocks of ``model`` in place; restore the trained weights on exit
    (:meth:`saliency_audit.backends.base.ModelBackend.randomized` of the Keras backend).

    Yields ``{"blocks": ..., "weights": n}``.
    """
    from ..backends.keras_model import KerasBackend

    name = arch.name if isinstance(arch, Architecture) else arch
    with KerasBackend(model, arch=name).randomized(step.blocks, seed) as info:
        yield info
