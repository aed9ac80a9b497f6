"""Binary classifiers: build, train (seeded, early stopping), save, load (bring your own), predict.

A classifier maps ``float32 (N, S, S, 3)`` images in [-1, 1] (see
:func:`saliency_audit.preprocess.to_model_input`) to ``(N, 1)`` positive-class **logits**.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import atomic_path
from ..preprocess import to_model_input
from . import _loop as loop
from .registry import get_architecture
from .tf_setup import graph_optimizer_off

logger = logging.getLogger(__name__)


def build_classifier(
    arch_name: str,
    size: int,
    weights_path: str | Path | None = None,
    *,
    bn_momentum: float | None = None,
):
    """Build ``arch_name`` for ``size`` x ``size`` x 3 inputs with one positive-class logit.

    The backbone's layers are top-level layers of the returned model, followed by
    ``Dense(1, name="logits")``.  ``weights_path``: optional local ImageNet weights file (the
    ``include_top=False`` ``.h5``) loaded into the backbone; nothing is ever downloaded.
    ``bn_momentum``: when given, the momentum of every BatchNormalization layer (Keras default
    0.99; see :func:`set_bn_momentum`).
    """
    arch = get_architecture(arch_name)
    size = int(size)
    if size < arch.min_size:
        raise InputError(f"{arch.name} needs images of at least {arch.min_size} px, got {size}")
    inputs = keras.Input(shape=(size, size, 3), name="image")
    backbone = arch.build_backbone(inputs, weights_path)
    logits = keras.layers.Dense(1, name="logits")(backbone.output)
    model = keras.Model(inputs, logits, name=f"{arch.name}_classifier")
    if bn_momentum is not None:
        set_bn_momentum(model, bn_momentum)
    return model


def set_bn_momentum(model, momentum: float) -> int:
    """Set the moving-average momentum of every BatchNormalization layer of ``model``.

    The moving mean/variance used at inference follow ``m <- momentum * m + (1 - momentum) *
    batch_stat`` once per training step; with the Keras default 0.99 they need several hundred
    steps to catch up, far more than a small data set gives.  Saved with the model.  Returns
    the number of layers changed.
    """
    momentum = float(momentum)
    if not 0.0 <= momentum < 1.0:
        raise InputError(f"bn_momentum must lie in [0, 1), got {momentum}")
    layers = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.momentum = momentum
    return len(layers)


# --------------------------------------------------------------------------- training


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random translation (up to 1/16 of the side, black fill) and brightness/contrast jitter
    (+-10 %) of a ``(B, S, S, 3)`` batch in [-1, 1].  No flips: chest anatomy is not symmetric."""
    n, s = x.shape[0], x.shape[1]
    max_shift = max(1, s // 16)
    out = np.full_like(x, -1.0)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    for i, (dy, dx) in enumerate(shifts):
        src_y = slice(max(0, -dy), s - max(0, dy))
        dst_y = slice(max(0, dy), s - max(0, -dy))
        src_x = slice(max(0, -dx), s - max(0, dx))
        dst_x = slice(max(0, dx), s - max(0, -dx))
        out[i, dst_y, dst_x] = x[i, src_y, src_x]
    contrast = rng.uniform(0.9, 1.1, size=(n, 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(-0.1, 0.1, size=(n, 1, 1, 1)).astype(np.float32)
    return np.clip(out * contrast + brightness, -1.0, 1.0).astype(np.float32)


def bce_from_logits(labels: np.ndarray, logits: np.ndarray) -> float:
    """Mean binary cross-entropy of ``logits`` against 0/1 ``labels`` (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if z.size == 0:
        return math.nan
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    arch: str,
    size: int,
    schedule: loop.Schedule,
    weights_path: str | Path | None = None,
    augment: bool = False,
    bn_momentum: float | None = 0.5,
    log: logging.Logger = logger,
) -> tuple[keras.Model, pd.DataFrame]:
    """Train a binary classifier on rows ``train_idx`` of ``images`` (uint8 ``(N, S, S)``).

    Binary cross-entropy from logits, Adam(``learning_rate``) (as :class:`loop.FusedAdam`), batches
    of exactly ``batch_size`` images streamed from the stack in a seeded order (the last
    partial batch of each shuffled epoch is left out, so the training step is compiled once;
    ``seed`` also seeds weight initialisation and augmentation), early stopping on validation
    loss after ``patience`` epochs with the best weights restored.  Logs one line per epoch
    (loss, val_loss, val AUROC, seconds, images/s).

    ``bn_momentum``: momentum of the BatchNormalization moving statistics (``None``: the
    Keras default 0.99).  A small data set gives only ~10 steps per epoch, too few for 0.99:
    the inference-mode statistics then lag the weights and validation / test predictions are
    near chance although training loss is low.  With 0.5 they follow the last few batches
    (measured on the synthetic data: val AUROC ~1 from epoch 1-2 instead of 0.1-0.7 for
    three epochs).  Compiled functions are built without Grappler
    (:func:`~saliency_audit.models.tf_setup.graph_optimizer_off`).

    Returns ``(model, history)``; history columns: ``epoch, loss, val_loss, val_auroc,
    seconds, images_per_s, best``.
    """
    batch_size, learning_rate = schedule.batch_size, schedule.learning_rate
    seed = schedule.seed
    from sklearn.metrics import roc_auc_score

    loop.check_stack("images", images, size)
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],):
        raise InputError(f"labels: expected shape ({images.shape[0]},), got {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise InputError("labels: values must be 0 or 1")
    labels = labels.astype(np.float32)
    train_idx = loop.check_indices("train_idx", train_idx, images.shape[0])
    val_idx = loop.check_indices("val_idx", val_idx, images.shape[0], allow_empty=True)
    if len(np.unique(labels[train_idx])) < 2:
        raise InputError("train_idx: the training images must contain both classes")
    if val_idx.size == 0:
        log.warning("no validation images: early stopping is off, the last epoch is kept")

    keras.utils.set_random_seed(int(seed))
    model = build_classifier(arch, size, weights_path, bn_momentum=bn_momentum)
    optimizer = loop.FusedAdam(learning_rate=float(learning_rate))
    # Create the optimizer's slots now: otherwise they are created inside the first compiled
    # training step, which TensorFlow then traces twice (~15 s each for InceptionV3).
    optimizer.build(model.trainable_variables)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        jit_compile=False,
    )

    def make_batch(rows, rng):
        x = to_model_input(loop.read_rows(images, rows))
        if augment and rng is not None:
            x = _augment(x, rng)
        return x, labels[rows][:, None]

    train = loop.Batches(
        train_idx, batch_size, make_batch, shuffle=True, seed=seed, drop_remainder=True
    )

    def evaluate(m) -> dict:
        if val_idx.size == 0:
            return {"val_loss": math.nan, "val_auroc": math.nan}
        z = predict_logits(m, images, val_idx, batch_size)
        y = labels[val_idx]
        auroc = roc_auc_score(y, z) if len(np.unique(y)) == 2 else math.nan
        return {"val_loss": bce_from_logits(y, z), "val_auroc": auroc}

    with graph_optimizer_off():
        history = loop.fit_loop(
            model, train, evaluate=evaluate, schedule=schedule, log=log, name=arch
        )
    return model, history


# --------------------------------------------------------------------------- save / load


def save_model(model, path: str | Path) -> None:
    """Save ``model`` atomically as a native ``.keras`` file."""
    path = Path(path)
    if path.suffix != ".keras":
        raise InputError(f"{path}: models are saved in the native format; use a .keras name")
    with atomic_path(path) as tmp:
        model.save(tmp)


@keras.saving.register_keras_serializable(package="saliency_audit")
class PositiveLogit(keras.layers.Layer):
    """Turn a bring-your-own model's output into one positive-class logit ``(None, 1)``.

    ``kind``: ``"sigmoid"`` (one probability p -> log p - log(1-p)), ``"logits2"`` (two raw
    logits -> the positive column z1), ``"softmax2"`` (two softmax probabilities -> log p1 -
    log p0, which equals z1 - z0 of the pre-softmax logits, the only logit recoverable).
    """

    def __init__(self, kind: str, eps: float = 1e-7, **kwargs):
        super().__init__(**kwargs)
        if kind not in ("sigmoid", "logits2", "softmax2"):
            raise ValueError(f"unknown output kind {kind!r}")
        self.kind = kind
        self.eps = float(eps)

    def call(self, y):
        ops = keras.ops
        if self.kind == "logits2":
            return y[:, 1:2]
        p = ops.clip(y, self.eps, 1.0 - self.eps)
        if self.kind == "sigmoid":
            return ops.log(p) - ops.log(1.0 - p)
        return ops.log(p[:, 1:2]) - ops.log(p[:, 0:1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "eps": self.eps}


def _output_activation(model) -> str | None:
    """``"softmax"``, ``"sigmoid"`` or ``None`` for the layer that produces the model output."""
    try:
        layer = model.outputs[0]._keras_history[0]
    except (AttributeError, IndexError, TypeError):
        layer = model.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None)
    return name if name in ("softmax", "sigmoid") else None


def load_classifier(path: str | Path, size: int | None = None):
    """Load a trained or bring-your-own ``.keras`` classifier and check its interface.

    Accepted: one input ``(None, S, S, 3)`` (``S`` may be ``None``; it must equal ``size`` when
    both are known) and one output that is either ``(None, 1)`` or ``(None, 2)`` with the
    positive class in column 1.  Outputs other than a single raw logit are wrapped with a
    :class:`PositiveLogit` layer so every caller sees one positive-class logit:
    a sigmoid probability becomes its logit; two raw logits -> the positive column; two softmax
    probabilities -> ``log p1 - log p0``.  Anything else raises InputError naming the file and
    what was found.
    """
    path = Path(path)
    model = loop.load_keras_file(path, "model")
    if not isinstance(model, keras.Model):
        raise InputError(f"{path}: expected a keras.Model, found {type(model).__name__}")
    inputs, outputs = model.inputs, model.outputs
    if len(inputs) != 1:
        raise InputError(f"{path}: expected one image input, found {len(inputs)} inputs")
    in_shape = tuple(inputs[0].shape)
    ok_in = len(in_shape) == 4 and in_shape[3] == 3 and in_shape[1] == in_shape[2]
    if not ok_in:
        raise InputError(f"{path}: expected input shape (None, S, S, 3), found {in_shape}")
    if size is not None and in_shape[1] is not None and in_shape[1] != int(size):
        raise InputError(
            f"{path}: model input is {in_shape[1]} px but the images are {int(size)} px"
        )
    if len(outputs) != 1:
        raise InputError(f"{path}: expected one output, found {len(outputs)} outputs")
    out_shape = tuple(outputs[0].shape)
    if len(out_shape) != 2 or out_shape[1] not in (1, 2):
        raise InputError(
            f"{path}: expected output shape (None, 1) (one logit) or (None, 2) (two classes), "
            f"found {out_shape}"
        )
    activation = _output_activation(model)
    if out_shape[1] == 1:
        if activation == "softmax":
            raise InputError(f"{path}: a one-column softmax output is constant; found {out_shape}")
        kind = "sigmoid" if activation == "sigmoid" else None
    else:
        kind = "softmax2" if activation == "softmax" else "logits2"
        if activation == "sigmoid":
            raise InputError(
                f"{path}: two sigmoid outputs are not a binary classifier; found {out_shape}"
            )
    if kind is None:
        return model
    logger.info("%s: wrapping %s output %s into one positive-class logit", path, kind, out_shape)
    logit = PositiveLogit(kind, name="positive_logit")(outputs[0])
    return keras.Model(inputs[0], logit, name=f"{model.name}_logit")


# --------------------------------------------------------------------------- predict


def predict_logits(model, images: np.ndarray, idx: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Positive-class logits ``float32 (len(idx),)`` for rows ``idx`` of uint8 ``images``.

    Every batch the model sees is ``(batch_size, S, S, 3)``: a short last batch is padded with
    zeros (inference is per image, so padding does not change the real rows' logits), so the
    compiled predict function is traced once per model and batch size, not again for the
    remainder.
    """
    loop.check_stack("images", images)
    idx = loop.check_indices("idx", idx, images.shape[0], allow_empty=True)
    batch_size = int(batch_size)
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    out = np.empty(len(idx), dtype=np.float32)
    for start in range(0, len(idx), batch_size):
        rows = idx[start : start + batch_size]
        x = to_model_input(loop.read_rows(images, rows))
        if len(rows) < batch_size:
            x = np.concatenate([x, np.zeros((batch_size - len(rows),) + x.shape[1:], x.dtype)])
        z = np.asarray(model.predict_on_batch(x))
        out[start : start + len(rows)] = z.reshape(batch_size, -1)[: len(rows), -1]
    return out
