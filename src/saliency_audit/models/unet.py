"""U-Net: the segmentation high baseline whose per-pixel probabilities serve as a score map.

Input: ``float32 (N, S, S, 1)`` = ``x / 127.5 - 1`` of the uint8 image; output: ``(N, S, S, 1)``
per-pixel logits (layer ``mask_logits``).  Loss: binary cross-entropy + (1 - soft Dice), the
Dice computed per image and averaged over the batch.
"""

from __future__ import annotations

import logging
import math

import keras
import numpy as np
import pandas as pd

from ..errors import InputError
from ..preprocess import to_model_input
from . import _loop as loop

logger = logging.getLogger(__name__)

DICE_SMOOTH = 1.0


def build_unet(size: int, base_filters: int = 16, depth: int = 4, batch_norm: bool = True):
    """A U-Net with ``depth`` down/up-sampling levels and ``base_filters * 2**level`` filters.

    ``size`` must be divisible by ``2**depth``.
    """
    size, depth, base_filters = int(size), int(depth), int(base_filters)
    if depth < 1 or base_filters < 1:
        raise InputError(f"U-Net depth and base_filters must be >= 1, got {depth}, {base_filters}")
    if size % (2**depth):
        raise InputError(
            f"U-Net with depth {depth} needs a size divisible by {2**depth}, got {size}"
        )
    layers = keras.layers

    def conv_block(x, filters, name):
        for j in (1, 2):
            x = layers.Conv2D(
                filters, 3, padding="same", use_bias=not batch_norm, name=f"{name}_conv{j}"
            )(x)
            if batch_norm:
                x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{j}")(x)
            x = layers.ReLU(name=f"{name}_relu{j}")(x)
        return x

    inputs = keras.Input(shape=(size, size, 1), name="image")
    x = inputs
    skips = []
    for level in range(depth):
        x = conv_block(x, base_filters * 2**level, f"enc{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    x = conv_block(x, base_filters * 2**depth, "bottleneck")
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(base_filters * 2**level, 2, strides=2, name=f"dec{level}_up")(x)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, skips[level]])
        x = conv_block(x, base_filters * 2**level, f"dec{level}")
    logits = layers.Conv2D(1, 1, name="mask_logits")(x)
    return keras.Model(inputs, logits, name="unet")


def bce_dice_loss(y_true, y_pred):
    """Per-image BCE (from logits) + 1 - soft Dice of ``sigmoid(y_pred)``; shapes ``(B,S,S,1)``."""
    ops = keras.ops
    y_true = ops.cast(y_true, y_pred.dtype)
    bce = ops.mean(
        ops.maximum(y_pred, 0.0) - y_pred * y_true + ops.log1p(ops.exp(-ops.abs(y_pred))),
        axis=(1, 2, 3),
    )
    p = ops.sigmoid(y_pred)
    inter = ops.sum(p * y_true, axis=(1, 2, 3))
    denom = ops.sum(p, axis=(1, 2, 3)) + ops.sum(y_true, axis=(1, 2, 3))
    dice = (2.0 * inter + DICE_SMOOTH) / (denom + DICE_SMOOTH)
    return bce + 1.0 - dice


def _np_bce_dice(y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (loss, dice) in NumPy, matching :func:`bce_dice_loss`."""
    z = z.astype(np.float64)
    y = y.astype(np.float64)
    axes = tuple(range(1, z.ndim))
    bce = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=axes)
    p = 1.0 / (1.0 + np.exp(-z))
    dice = (2 * (p * y).sum(axis=axes) + DICE_SMOOTH) / (
        p.sum(axis=axes) + y.sum(axis=axes) + DICE_SMOOTH
    )
    return bce + 1.0 - dice, dice


def _unet_input(images: np.ndarray) -> np.ndarray:
    return to_model_input(images)[..., :1]


def train_unet(
    images: np.ndarray,
    masks: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    size: int,
    schedule: loop.Schedule,
    log: logging.Logger = logger,
    base_filters: int = 16,
    depth: int = 4,
    batch_norm: bool = True,
) -> tuple[keras.Model, pd.DataFrame]:
    """Train a U-Net on rows ``train_idx`` of uint8 ``images``/``masks`` ``(N, S, S)``.

    Adam(``learning_rate``), BCE + soft Dice, seeded batch order and initialisation, early
    stopping on validation loss with the best weights restored.  History columns: ``epoch,
    loss, val_loss, val_dice, seconds, images_per_s, best``.
    """
    batch_size, learning_rate = schedule.batch_size, schedule.learning_rate
    seed = schedule.seed
    loop.check_stack("images", images, size)
    loop.check_stack("masks", masks, size)
    if masks.shape[0] != images.shape[0]:
        raise InputError(
            f"masks ({masks.shape[0]}) and images ({images.shape[0]}) differ in number"
        )
    train_idx = loop.check_indices("train_idx", train_idx, images.shape[0])
    val_idx = loop.check_indices("val_idx", val_idx, images.shape[0], allow_empty=True)
    if val_idx.size == 0:
        log.warning("no validation images: early stopping is off, the last epoch is kept")

    keras.utils.set_random_seed(int(seed))
    model = build_unet(size, base_filters=base_filters, depth=depth, batch_norm=batch_norm)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)),
        loss=bce_dice_loss,
        jit_compile=False,
    )

    def make_batch(rows, rng):
        x = _unet_input(loop.read_rows(images, rows))
        y = (loop.read_rows(masks, rows) > 0).astype(np.float32)[..., None]
        return x, y

    train = loop.Batches(train_idx, batch_size, make_batch, shuffle=True, seed=seed)

    def evaluate(m) -> dict:
        if val_idx.size == 0:
            return {"val_loss": math.nan, "val_dice": math.nan}
        losses, dices = [], []
        for start in range(0, len(val_idx), batch_size):
            x, y = make_batch(val_idx[start : start + batch_size], None)
            loss, dice = _np_bce_dice(y, np.asarray(m.predict_on_batch(x)))
            losses.append(loss)
            dices.append(dice)
        return {
            "val_loss": float(np.concatenate(losses).mean()),
            "val_dice": float(np.concatenate(dices).mean()),
        }

    history = loop.fit_loop(
        model, train, evaluate=evaluate, schedule=schedule, log=log, name="unet"
    )
    return model, history


def load_unet(path):
    """Load a U-Net saved with :func:`saliency_audit.models.classifier.save_model` (uncompiled:
    only for prediction).  InputError naming the file when it is missing, unreadable or not a
    ``(None, S, S, 1) -> (None, S, S, 1)`` model."""
    from pathlib import Path

    path = Path(path)
    model = loop.load_keras_file(path, "U-Net model")
    shape_in = tuple(getattr(model, "input_shape", ()))
    shape_out = tuple(getattr(model, "output_shape", ()))
    if len(shape_in) != 4 or shape_in[-1] != 1 or shape_out != shape_in:
        raise InputError(
            f"{path}: expected a U-Net (None, S, S, 1) -> (None, S, S, 1), found "
            f"{shape_in} -> {shape_out}"
        )
    return model


def predict_maps(
    model,
    images: np.ndarray,
    idx: np.ndarray,
    batch_size: int = 16,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Per-pixel probabilities ``float32 (len(idx), S, S)`` in [0, 1] for rows ``idx``.

    ``out`` (e.g. a memory map of that shape) is filled in place and returned when given.
    """
    loop.check_stack("images", images)
    idx = loop.check_indices("idx", idx, images.shape[0], allow_empty=True)
    s = images.shape[1]
    if out is None:
        out = np.empty((len(idx), s, s), dtype=np.float32)
    elif out.shape != (len(idx), s, s):
        raise InputError(f"out: expected shape {(len(idx), s, s)}, got {out.shape}")
    for start in range(0, len(idx), int(batch_size)):
        rows = idx[start : start + int(batch_size)]
        z = np.asarray(model.predict_on_batch(_unet_input(loop.read_rows(images, rows))))
        out[start : start + len(rows)] = 1.0 / (1.0 + np.exp(-z[..., 0].astype(np.float64)))
    return out
