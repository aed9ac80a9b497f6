"""The one interface between the saliency engine and a deep-learning framework.

A :class:`ModelBackend` wraps one binary classifier that takes our model inputs ``float32
(N, S, S, 3)`` in [-1, 1] (:func:`saliency_audit.preprocess.to_model_input`) and explains one
scalar per image, its positive-class logit. What the engine asks of it:

* :meth:`~ModelBackend.compile` ``(kind, batch)``: a batched function from inputs ``(g, S, S,
  3)`` and signs ``(g,)`` to NumPy arrays. ``kind`` is one of :data:`KINDS`: ``forward``
  (logits), ``input`` (d sign*logit / d input, logits), ``guided`` (the same through guided
  ReLUs), ``gradcam`` (a layer's activations ``(g, h, w, c)``, d sign*logit / d those
  activations, logits). ``batch`` fixes the batch size (``None``: any);
* :meth:`~ModelBackend.prepare` ``(kind)``: build what a kind needs (guided copy, layer hook)
  now, so a method that cannot run fails before any map is made;
* :meth:`~ModelBackend.randomized` ``(step, seed)``: re-initialise the blocks of a
  randomization step in place and restore the trained weights on exit;
* :attr:`~ModelBackend.gradcam_alignment`: where the Grad-CAM layer's cells sit in the image
  (``None``: stretched over it).

Backends: ``keras`` (a Keras 3 model under whichever ``KERAS_BACKEND`` is active: TensorFlow,
JAX or PyTorch) and ``torch`` (a PyTorch ``nn.Module``, TorchScript or ``torch.export``
program). :func:`saliency_audit.backends.open_classifier` loads a file into one.
"""

from __future__ import annotations

import abc
import collections
import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

KINDS = ("forward", "input", "guided", "gradcam")

#: ``(x (g, S, S, 3) float32, sign (g,) float32) -> tuple of arrays`` (see :data:`KINDS`)
Compiled = Callable[[np.ndarray, np.ndarray], tuple]


class ModelBackend(abc.ABC):
    """One classifier behind a framework. Subclasses set ``name`` and implement the methods."""

    #: registry name (``keras`` / ``torch``)
    name: str = ""

    def __init__(self, *, size: int, gradcam_layer: str | None = None):
        self.size = int(size)
        self.image_shape = (self.size, self.size, 3)
        self.gradcam_layer = gradcam_layer
        #: compiled traces by ``(kind, batch)`` (a Python side effect of tracing; eager
        #: frameworks count one per function made)
        self.trace_counts: collections.Counter = collections.Counter()
        self._predict_fn: Compiled | None = None  # predict's forward function, made once

    # ------------------------------------------------------------------ what subclasses give
    @property
    @abc.abstractmethod
    def framework(self) -> str:
        """The framework that runs the model (``tensorflow``, ``jax``, ``torch``)."""

    @property
    @abc.abstractmethod
    def device(self) -> str:
        """Where the model runs (``cpu``, ``cuda:0``, ``/GPU:0``...)."""

    @abc.abstractmethod
    def parameters(self) -> int:
        """Number of weights."""

    @abc.abstractmethod
    def prepare(self, kind: str) -> None:
        """Build what ``kind`` needs; raise :class:`~saliency_audit.errors.InputError` if the
        model cannot give it (no ReLU for ``guided``, no such layer for ``gradcam``)."""

    @abc.abstractmethod
    def compile(self, kind: str, batch: int | None) -> Compiled:
        """The batched function of ``kind`` at fixed ``batch`` (``None``: any batch)."""

    @property
    def gradcam_alignment(self):
        """``((stride, offset), (stride, offset))`` of the Grad-CAM layer's cell centres in
        pixels, or ``None`` (cells stretched over the image)."""
        return None

    def sync_weights(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Call after the weights changed in place (randomization): refresh any copies."""

    @abc.abstractmethod
    def block_names(self) -> list[str]:
        """The randomization blocks, top-down (logits first)."""

    @abc.abstractmethod
    def reinitialize(self, blocks: Sequence[str], seed: int) -> int:
        """Re-draw every weight of ``blocks`` (seeded per block and layer/module, so a block
        gets the same values whichever step draws it); returns the number of tensors."""

    @abc.abstractmethod
    def state(self):
        """A copy of every weight (restored by :meth:`restore`)."""

    @abc.abstractmethod
    def restore(self, state) -> None:
        """Put back the weights of :meth:`state`."""

    # ------------------------------------------------------------------ shared behaviour
    @property
    def trace_count(self) -> int:
        return sum(self.trace_counts.values())

    def predict(self, x: np.ndarray, batch: int = 32) -> np.ndarray:
        """Positive-class logits ``(n,)`` of model inputs ``x`` ``(n, S, S, 3)``."""
        x = np.asarray(x, np.float32)
        if self._predict_fn is None:
            self._predict_fn = self.compile("forward", None)
        fn = self._predict_fn
        parts = []
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            parts.append(fn(xb, np.ones(len(xb), np.float32))[0])
        return np.concatenate(parts).reshape(-1) if parts else np.zeros(0, np.float32)

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        """``(n, 1)`` logits, as a Keras model's ``predict_on_batch``."""
        return self.predict(x, batch=max(len(x), 1))[:, None]

    @contextlib.contextmanager
    def randomized(self, blocks: Sequence[str], seed: int) -> Iterator[dict]:
        """Re-draw ``blocks`` in place; the trained weights come back on exit. Yields
        ``{"blocks": [...], "weights": n}``."""
        saved = self.state()
        try:
            n = self.reinitialize(list(blocks), seed)
            self.sync_weights()
            yield {"blocks": list(blocks), "weights": n}
        finally:
            self.restore(saved)
            self.sync_weights()

    def describe(self) -> dict:
        """What a map sidecar records of the model's framework."""
        return {"backend": self.name, "framework": self.framework, "device": self.device}
