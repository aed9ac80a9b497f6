"""Shared training machinery: streaming batches and an epoch loop with early stopping.

Batches are read from the (memory-mapped) uint8 stacks one batch at a time, so memory stays flat
in the number of images.  The loop is a plain ``train_on_batch`` loop: no background threads, no
prefetching, so a seed fixes the order of every batch and, with op determinism on, the bytes of
the trained weights on CPU.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from ..errors import InputError

BatchFn = Callable[[np.ndarray, np.random.Generator | None], tuple]


def check_indices(name: str, idx, n: int, *, allow_empty: bool = False) -> np.ndarray:
    """``idx`` as an int64 array of row numbers in ``[0, n)``; InputError otherwise."""
    arr = np.asarray(idx)
    if arr.dtype == bool:
        arr = np.flatnonzero(arr)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise InputError(
            f"{name}: expected a 1-D array of integer row indices, got {arr.dtype} {arr.shape}"
        )
    arr = arr.astype(np.int64)
    if arr.size == 0 and not allow_empty:
        raise InputError(f"{name}: no images selected")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise InputError(f"{name}: row indices must lie in [0, {n}), got {arr.min()}..{arr.max()}")
    return arr


def check_stack(name: str, images, size: int | None = None) -> None:
    """InputError unless ``images`` is ``(N, S, S)`` (with ``S == size`` when given)."""
    shape = getattr(images, "shape", None)
    if shape is None or len(shape) != 3 or shape[1] != shape[2]:
        raise InputError(f"{name}: expected an (N, S, S) image stack, got shape {shape}")
    if size is not None and shape[1] != size:
        raise InputError(f"{name}: images are {shape[1]} px but size={size} was requested")


def read_rows(stack, rows: np.ndarray) -> np.ndarray:
    """Read ``stack[rows]`` touching the memmap in sorted order, returned in ``rows`` order."""
    order = np.argsort(rows, kind="stable")
    out = np.empty((len(rows),) + tuple(stack.shape[1:]), dtype=stack.dtype)
    out[order] = stack[rows[order]]
    return out


@keras.saving.register_keras_serializable(package="saliency_audit")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose update is one fused TensorFlow op per variable.

    Same algorithm and hyper-parameters as Keras' Adam (``m``, ``v``, bias-corrected step,
    ``epsilon`` outside the square root), but each variable's update is one
    ``ResourceApplyAdam`` op instead of about fifteen element-wise ops routed through
    ``tf.distribute``.  The compiled training step of a deep network (hundreds of variables)
    then traces and optimises several seconds faster; steps are as fast.  Falls back to the
    Keras update for non-TensorFlow backends, non-float32 variables, sparse gradients,
    ``amsgrad`` or a non-default ``tf.distribute`` strategy.
    """

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not self._can_fuse(grads, trainable_variables):
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        import tensorflow as tf

        f32 = tf.float32
        step = tf.cast(self.iterations + 1, f32)
        beta_1 = tf.constant(self.beta_1, f32)
        beta_2 = tf.constant(self.beta_2, f32)
        common = {
            "beta1_power": tf.pow(beta_1, step),
            "beta2_power": tf.pow(beta_2, step),
            "lr": tf.cast(learning_rate, f32),
            "beta1": beta_1,
            "beta2": beta_2,
            "epsilon": tf.constant(self.epsilon, f32),
        }
        for grad, var in zip(grads, trainable_variables, strict=True):
            i = self._get_variable_index(var)
            tf.raw_ops.ResourceApplyAdam(
                var=var.value.handle,
                m=self._momentums[i].value.handle,
                v=self._velocities[i].value.handle,
                grad=tf.cast(grad, f32),
                **common,
            )

    def _can_fuse(self, grads, trainable_variables) -> bool:
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return False
        import tensorflow as tf

        if tf.distribute.has_strategy():  # a non-default strategy (mirrored, TPU, ...)
            return False
        return all(
            isinstance(g, tf.Tensor) and v.dtype == "float32"
            for g, v in zip(grads, trainable_variables, strict=True)
        )


class Batches(keras.utils.PyDataset):
    """A ``keras.utils.PyDataset`` over row indices of memory-mapped stacks.

    ``make_batch(rows, rng)`` turns an index array into ``(x, y)`` (or ``x``); ``rng`` is ``None``
    unless ``shuffle`` is on, in which case it is a Generator seeded by ``(seed, epoch)`` and is
    used for the epoch's permutation and any augmentation.  Call :meth:`set_epoch` before each
    epoch (the training loop does); the order of epoch ``e`` is a pure function of
    ``(seed, e)``.  Usable with ``model.fit`` / ``model.predict`` as well.

    ``drop_remainder``: leave out the last, partial batch of each epoch (with ``shuffle`` on,
    a different few images each epoch), so every batch has the same shape and a compiled
    training step is traced once, not twice; ``batch_size`` is then capped at ``len(idx)``.
    """

    def __init__(
        self,
        idx: np.ndarray,
        batch_size: int,
        make_batch: BatchFn,
        *,
        shuffle: bool = False,
        seed: int = 0,
        drop_remainder: bool = False,
    ):
        super().__init__(workers=1, use_multiprocessing=False)
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.idx = np.asarray(idx, dtype=np.int64)
        self.drop_remainder = bool(drop_remainder)
        self.batch_size = int(batch_size)
        if self.drop_remainder and len(self.idx):
            self.batch_size = min(self.batch_size, len(self.idx))
        self.make_batch = make_batch
        self.shuffle = shuffle
        self.seed = int(seed)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            self.order = self.idx[rng.permutation(len(self.idx))]
            self._aug_seed = int(rng.integers(2**63 - 1))
        else:
            self.order = self.idx

    def __len__(self) -> int:
        if self.drop_remainder:
            return len(self.idx) // self.batch_size
        return math.ceil(len(self.idx) / self.batch_size)

    def __getitem__(self, i: int):
        if i < 0 or i >= len(self):
            raise IndexError(i)
        rows = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        rng = np.random.default_rng([self._aug_seed, i]) if self.shuffle else None
        return self.make_batch(rows, rng)

    def on_epoch_end(self) -> None:  # when driven by model.fit
        self.set_epoch(self.epoch + 1)


@dataclass(frozen=True)
class Schedule:
    """How a model is trained: ``epochs`` at most, ``batch_size`` images per step, Adam's
    ``learning_rate``, early stopping after ``patience`` epochs without a better validation
    loss (None: never), ``seed`` of initialisation, batch order and augmentation."""

    epochs: int
    batch_size: int
    learning_rate: float
    patience: int | None
    seed: int


def fit_loop(
    model,
    train: Batches,
    *,
    evaluate: Callable[[object], dict],
    schedule: Schedule,
    log: logging.Logger,
    name: str,
    train_on_batch: Callable | None = None,
) -> pd.DataFrame:
    """Train ``model`` (compiled) for up to ``epochs`` epochs with early stopping on val_loss.

    ``evaluate(model)`` returns a dict with at least ``val_loss`` (NaN when there is no
    validation set: then no early stopping and the last weights are kept).  Training stops after
    ``patience`` epochs without a strict improvement (``None``: never) and the weights of the
    best epoch are restored.  One log line per epoch.  ``train_on_batch(x, y) -> logs dict``
    defaults to ``model.train_on_batch(x, y, return_dict=True)``.  Returns the history, one row
    per epoch: ``epoch, loss, val_*, seconds, images_per_s, best``.
    """
    epochs, patience = schedule.epochs, schedule.patience
    if epochs < 1:
        raise InputError(f"epochs must be >= 1, got {epochs}")
    if train_on_batch is None:

        def train_on_batch(x, y):
            return model.train_on_batch(x, y, return_dict=True)

    best_loss = math.inf
    best_weights = None
    best_epoch = 0
    wait = 0
    rows = []
    for epoch in range(1, epochs + 1):
        train.set_epoch(epoch)
        start = time.perf_counter()
        loss_sum = 0.0
        n_train = 0  # images seen this epoch (fewer than len(train.idx) with drop_remainder)
        for i in range(len(train)):
            x, y = train[i]
            logs = train_on_batch(x, y)  # this batch's mean loss
            loss_sum += float(logs["loss"]) * len(x)
            n_train += len(x)
        loss = loss_sum / max(n_train, 1)
        train_s = time.perf_counter() - start
        metrics = {k: float(v) for k, v in evaluate(model).items()}
        seconds = time.perf_counter() - start
        val_loss = metrics.get("val_loss", math.nan)
        improved = math.isfinite(val_loss) and val_loss < best_loss
        row = {
            "epoch": epoch,
            "loss": loss,
            **metrics,
            "seconds": seconds,
            "images_per_s": n_train / train_s if train_s > 0 else math.nan,
            "best": improved,
        }
        rows.append(row)
        extras = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        log.info(
            "%s epoch %d/%d loss=%.4f %s time=%.1fs %.1f images/s%s",
            name,
            epoch,
            epochs,
            loss,
            extras,
            seconds,
            row["images_per_s"],
            " *" if improved else "",
        )
        if not math.isfinite(loss):
            log.warning("%s: training loss is %s at epoch %d; stopping", name, loss, epoch)
            break
        if improved:
            best_loss, best_epoch, wait = val_loss, epoch, 0
            best_weights = [np.array(w, copy=True) for w in model.get_weights()]
        elif math.isfinite(val_loss) or math.isfinite(best_loss):
            wait += 1
            if patience is not None and wait >= patience:
                log.info(
                    "%s: early stopping at epoch %d (best val_loss=%.4f at epoch %d)",
                    name,
                    epoch,
                    best_loss,
                    best_epoch,
                )
                break
    if best_weights is not None:
        model.set_weights(best_weights)
        log.info("%s: restored weights of epoch %d (val_loss=%.4f)", name, best_epoch, best_loss)
    return pd.DataFrame(rows)


def load_keras_file(path, what: str = "model"):
    """Load a ``.keras`` file without compiling; InputError naming the file when unusable."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any load failure is a bad input file
        raise InputError(
            f"{path}: not a loadable Keras model: {type(exc).__name__}: {exc}"
        ) from exc
