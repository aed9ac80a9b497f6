"""Classifier architectures: how to build them, where Grad-CAM looks, how to randomize them.

Every architecture is a flat functional Keras model ``(None, S, S, 3) -> (None, 1)``: the
backbone's layers sit at the top level of the model (no nested sub-model), followed by global
average pooling and ``Dense(1, name="logits")`` giving the positive-class logit.  So
``model.get_layer(arch.gradcam_layer)`` and :func:`block_layers` work on trained, saved and
reloaded models alike.

Blocks for cascading randomization
----------------------------------
``Architecture.blocks`` lists ``(block_name, boundary)`` pairs **top-down** (the order in which
the cascade re-initialises them).  ``boundary`` is the name of the layer whose output closes the
block (e.g. ``"mixed7"``), a callable ``model -> layer name`` (used for the stem, whose last
layer has an auto-generated name in InceptionV3), or ``None`` for the top block, which takes
every layer above the next block (pooling and the ``logits`` Dense layer).  A block holds its
boundary layer and every ancestor of it that no lower block holds, so the blocks partition the
model's layers (the input layer excepted) whatever Keras named the anonymous layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

Boundary = str | Callable[[object], str] | None


def stem_end(model) -> str:
    """Name of the stem's last layer: walk from the input while each layer has one consumer.

    InceptionV3 and DenseNet-121 both start with a linear convolutional stem that ends where the
    network first branches (InceptionV3: the second max-pool; DenseNet-121: ``pool1``).
    """
    members = {id(layer) for layer in model.layers}
    layer = model.layers[0]
    while True:
        consumers = []
        for node in layer._outbound_nodes:
            op = node.operation
            if id(op) in members and all(id(c) != id(op) for c in consumers):
                consumers.append(op)
        if len(consumers) != 1:
            return layer.name
        layer = consumers[0]


@dataclass(frozen=True)
class Architecture:
    """One classifier architecture.

    Attributes:
        name: registry key.
        build_backbone: ``(inputs, weights_path) -> keras.Model`` whose output is the pooled
            feature vector ``(None, F)``; built on the given input tensor so that its layers
            become top-level layers of the classifier.
        min_size: smallest square input side in pixels.
        gradcam_layer: name of the last convolutional block output (Grad-CAM target).
        blocks: top-down ``(block_name, boundary)`` pairs, see the module docstring.
        supports_weights: whether a local ImageNet weights file can initialise the backbone.
    """

    name: str
    build_backbone: Callable = field(repr=False)
    min_size: int
    gradcam_layer: str
    blocks: tuple[tuple[str, Boundary], ...]
    supports_weights: bool = True
    description: str = ""
    #: Keras' ImageNet weight file of the backbone (include_top=False) and where Keras
    #: publishes it; ``models.weights: imagenet`` reads it from Keras' cache
    imagenet_file: str | None = None
    imagenet_url: str | None = None

    @property
    def block_names(self) -> list[str]:
        """Block names, top-down (logits first, stem last)."""
        return [name for name, _ in self.blocks]


def _weights_arg(weights_path: str | Path | None, arch_name: str) -> str | None:
    if weights_path is None:
        return None
    path = Path(weights_path)
    if not path.is_file():
        raise InputError(f"{path}: ImageNet weights file for {arch_name} not found")
    if not path.name.endswith(".h5"):
        raise InputError(
            f"{path}: ImageNet weights for {arch_name} must be a Keras '.h5' / '.weights.h5' file "
            "(the include_top=False 'notop' file)"
        )
    return str(path)


def _build_app(factory_name: str, arch_name: str):
    def build(inputs, weights_path=None):
        import keras

        weights = _weights_arg(weights_path, arch_name)
        factory = getattr(keras.applications, factory_name)
        try:
            return factory(
                include_top=False,
                weights=weights,
                input_tensor=inputs,
                input_shape=tuple(inputs.shape[1:]),
                pooling="avg",
            )
        except (ValueError, OSError, KeyError, TypeError) as exc:
            if weights is None:
                raise
            detail = str(exc) if len(str(exc)) <= 400 else str(exc)[:400] + " ..."
            raise InputError(
                f"{weights}: cannot load these weights into the {arch_name} backbone "
                f"(expected the include_top=False ImageNet file): {detail}"
            ) from exc

    return build


def _build_tiny(inputs, weights_path=None):
    """A three-conv CNN (~7k parameters) for tests and quick runs."""
    import keras
    from keras import layers

    if weights_path is not None:
        raise InputError(f"{weights_path}: the 'tiny' architecture has no ImageNet weights")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem_conv")(inputs)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="block1_conv")(x)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = layers.Conv2D(32, 3, padding="same", name="block2_conv")(x)
    x = layers.ReLU(name="block2_out")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, x, name="tiny_backbone")


_INCEPTION_BLOCKS: tuple[tuple[str, Boundary], ...] = (
    ("logits", None),
    *((f"mixed{k}", f"mixed{k}") for k in range(10, -1, -1)),
    ("stem", stem_end),
)

_DENSENET_BLOCKS: tuple[tuple[str, Boundary], ...] = (
    ("classifier", None),
    ("dense_block4", "relu"),  # conv5_* + final bn/relu
    ("dense_block3", "pool4_pool"),  # conv4_* + transition pool4_*
    ("dense_block2", "pool3_pool"),  # conv3_* + transition pool3_*
    ("dense_block1", "pool2_pool"),  # conv2_* + transition pool2_*
    ("stem", "pool1"),  # conv1_* + pool1
)


_KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications"


def _application(name, factory, min_size, gradcam_layer, blocks, weights_url):
    """An architecture from ``keras.applications.<factory>`` (top off, average pooling) with
    Keras' ImageNet weight file at ``weights_url``."""
    return Architecture(
        name=name,
        build_backbone=_build_app(factory, name),
        min_size=min_size,
        gradcam_layer=gradcam_layer,
        blocks=blocks,
        description=f"keras.applications.{factory} (include_top=False, avg pooling)",
        imagenet_file=weights_url.rsplit("/", 1)[-1],
        imagenet_url=weights_url,
    )


ARCHITECTURES: dict[str, Architecture] = {
    "inceptionv3": _application(
        "inceptionv3",
        "InceptionV3",
        75,
        "mixed10",
        _INCEPTION_BLOCKS,
        f"{_KERAS_WEIGHTS}/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "densenet121": _application(
        "densenet121",
        "DenseNet121",
        32,
        "relu",
        _DENSENET_BLOCKS,
        f"{_KERAS_WEIGHTS}/densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "tiny": Architecture(
        name="tiny",
        build_backbone=_build_tiny,
        min_size=8,
        gradcam_layer="block2_out",
        blocks=(
            ("logits", None),
            ("block2", "block2_out"),
            ("block1", "block1_pool"),
            ("stem", "stem_pool"),
        ),
        supports_weights=False,
        description="three-conv CNN for tests and quick runs",
    ),
}


def keras_cache() -> Path:
    """Keras' download cache of model files: ``$KERAS_HOME/models`` (default ``~/.keras``)."""
    import os

    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def initial_weights(arch_name: str, setting) -> tuple[Path | None, str]:
    """``(weights file or None, description)`` of an architecture's initialisation for a
    ``models.weights`` setting: ``None``/``"none"`` (random: trained from scratch),
    ``"imagenet"`` (Keras' own ImageNet file, from Keras' cache) or a file path. A missing
    ImageNet file raises :class:`InputError` naming the file, where to put it and where Keras
    publishes it (nothing is downloaded)."""
    arch = get_architecture(arch_name)
    if setting is None or setting == "none":
        return None, "random (trained from scratch)"
    if setting == "imagenet":
        if arch.imagenet_file is None:
            raise InputError(f"config key models.weights: {arch.name} has no ImageNet weights")
        path = keras_cache() / arch.imagenet_file
        if not path.is_file():
            raise InputError(
                f"config key models.weights asks for the ImageNet weights of {arch.name}, but "
                f"{path} does not exist: download {arch.imagenet_url} and place it there (or "
                f"set KERAS_HOME, or give its path as models.weights.{arch.name}); nothing is "
                "downloaded at run time"
            )
        return path, f"ImageNet ({path.name})"
    path = Path(setting)
    if not path.is_file():
        raise InputError(f"config key models.weights.{arch.name}: {path} not found")
    return path, f"ImageNet ({path.name})"


def get_architecture(name: str) -> Architecture:
    """Look up an architecture by (case-insensitive) name; unknown names raise InputError."""
    key = str(name).strip().lower()
    try:
        return ARCHITECTURES[key]
    except KeyError:
        valid = ", ".join(sorted(ARCHITECTURES))
        raise InputError(f"unknown architecture {name!r}; valid names: {valid}") from None


def _ancestors(layer, members: dict[int, object]) -> set[int]:
    """ids of ``layer`` and every model layer upstream of it."""
    seen: set[int] = set()
    stack = [layer]
    while stack:
        op = stack.pop()
        if id(op) in seen or id(op) not in members:
            continue
        seen.add(id(op))
        for node in op._inbound_nodes:
            for parent in node.parent_nodes:
                stack.append(parent.operation)
    return seen


def block_layers(model, arch: Architecture | str) -> dict[str, list]:
    """Partition ``model.layers`` (input layers excluded) into ``arch``'s blocks.

    Returns an ordered dict ``block_name -> [layers in model order]``, top-down like
    ``arch.blocks``.  Raises InputError when a boundary layer is missing from the model.
    """
    import keras

    if isinstance(arch, str):
        arch = get_architecture(arch)
    members = {
        id(layer): layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
    }
    assigned: set[int] = set()
    found: dict[str, set[int]] = {}
    for block_name, boundary in reversed(arch.blocks):
        if boundary is None:
            ids = set(members) - assigned
        else:
            layer_name = boundary(model) if callable(boundary) else boundary
            try:
                end = model.get_layer(layer_name)
            except ValueError:
                raise InputError(
                    f"model {model.name!r} has no layer {layer_name!r} closing block "
                    f"{block_name!r} of architecture {arch.name!r}"
                ) from None
            ids = _ancestors(end, members) - assigned
        assigned |= ids
        found[block_name] = ids
    order = {id(layer): i for i, layer in enumerate(model.layers)}
    return {
        name: sorted((members[i] for i in found[name]), key=lambda la: order[id(la)])
        for name, _ in arch.blocks
    }


def find_gradcam_layer(model) -> str:
    """The last layer with a 4-D ``(None, h, w, c)`` output with h, w > 1 if any (else > 0)."""
    candidates = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and shape[1] and shape[2]:
            candidates.append((layer.name, shape))
    if not candidates:
        raise InputError(f"model {model.name!r} has no 4-D layer output for Grad-CAM")
    wide = [name for name, shape in candidates if shape[1] > 1 and shape[2] > 1]
    return (wide or [candidates[-1][0]])[-1]
