"""One saliency job: a model loaded once, one method, maps streamed into a float16 stack."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from saliency_audit.errors import InputError
from saliency_audit.io import open_memmap_atomic
from saliency_audit.preprocess import to_model_input
from saliency_audit.saliency.base import Plan, SaliencyMethod, image_seed
from saliency_audit.saliency.model_functions import ModelContext
from saliency_audit.saliency.postprocess import reduce_raw
from saliency_audit.saliency.registry import get_method

_log = logging.getLogger(__name__)


def _as_logfn(log) -> Callable[[str], None]:
    if log is None:
        return _log.info
    if isinstance(log, logging.Logger):
        return log.info
    return log


class SaliencyEngine:
    """Saliency maps of one model with one method.

    ``model``: a Keras 3 model (or a ``.keras`` path, loaded once without compiling) with input
    ``(None, S, S, 3)`` float32 in [-1, 1] and one output logit ``(None, 1)``, or any
    :class:`~saliency_audit.backends.base.ModelBackend` (e.g. a PyTorch classifier). ``method``: a
    name from :func:`~saliency_audit.saliency.registry.method_names` (default parameters) or a
    configured :class:`SaliencyMethod`. ``batch_size``: most model inputs per compiled call
    (noise samples, integration steps and images are packed into it). ``gradcam_layer``: the
    layer GCAM/GGCAM read. ``positive_class``: explain the positive-class logit (True) or each
    image's predicted class. ``context``: a :class:`ModelContext` of the same model to share
    (with its ``fixed_batch``, methods share one compiled function per kind).
    """

    def __init__(
        self,
        model,
        method: str | SaliencyMethod,
        *,
        batch_size: int = 32,
        gradcam_layer: str | None = None,
        positive_class: bool = True,
        context: ModelContext | None = None,
    ):
        if isinstance(model, str | os.PathLike):
            import keras

            path = Path(model)
            if not path.is_file():
                raise InputError(f"{path}: model file not found")
            try:
                model = keras.models.load_model(path, compile=False)
            except Exception as exc:  # noqa: BLE001 - report the file
                raise InputError(f"{path}: cannot load Keras model ({exc})") from exc
        self.method = get_method(method) if isinstance(method, str) else method
        if not isinstance(self.method, SaliencyMethod):
            raise InputError(f"method must be a name or SaliencyMethod, got {method!r}")
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise InputError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        if context is not None:  # share compiled functions with other methods of the job
            if model is not context.model and model is not context.backend:
                raise InputError("context belongs to another model")
            if context.positive_class != positive_class or (
                gradcam_layer and context.gradcam_layer != gradcam_layer
            ):
                raise InputError("context was made with other positive_class / gradcam_layer")
            self.ctx = context
        else:
            self.ctx = ModelContext(
                model, positive_class=positive_class, gradcam_layer=gradcam_layer
            )
        for kind in self.method.kinds:  # build guided clone / Grad-CAM model now: fail early
            self.ctx.prepare(kind)
        self.plan: Plan | None = None
        self.prepare(None)

    @property
    def size(self) -> int:
        """Image side ``S`` the model takes."""
        return self.ctx.size

    @property
    def trace_count(self) -> int:
        """Compiled-function traces so far: one per compiled (kind, batch) when nothing retraces."""
        return self.ctx.trace_count

    def prepare(self, n_images: int | None) -> Plan:
        """Choose the batching plan for ``n_images`` images and bind the method to it."""
        plan = self.method.make_plan(self.batch_size, n_images)
        self.method.bind(self.ctx, plan)
        self.plan = plan
        return plan

    def raw(self, x: np.ndarray, seeds: Sequence[int]) -> np.ndarray:
        """Raw attributions ``(B, S, S, C)`` of model inputs ``x`` ``float32 (B, S, S, 3)``."""
        return self.method.compute(np.asarray(x, np.float32), [int(s) for s in seeds])

    def maps(self, images_uint8: np.ndarray, indices: Sequence[int], *, seed: int) -> np.ndarray:
        """Post-processed maps ``float32 (B, S, S)`` in [0, 1] of ``images_uint8[indices]``
        (in memory: for small batches; :meth:`compute_maps` streams to disk)."""
        return self.maps_and_raw(images_uint8, indices, seed=seed)[0]

    def maps_and_raw(self, images_uint8: np.ndarray, indices: Sequence[int], *, seed: int):
        """``(display maps float32 (B, S, S), raw float16 (B, S, S), raw scales (B,))`` of
        ``images_uint8[indices]`` (see :func:`~saliency_audit.saliency.postprocess.reduce_raw`)."""
        idx = np.asarray(indices, dtype=np.int64)
        x = to_model_input(np.asarray(images_uint8[idx]))
        seeds = [image_seed(seed, i) for i in idx]
        raw = self.raw(x, seeds)
        return (self.method.display(raw), *reduce_raw(raw))

    def _check_images(self, images_uint8, indices) -> np.ndarray:
        shape = tuple(images_uint8.shape)
        if images_uint8.dtype != np.uint8 or len(shape) != 3:
            raise InputError(
                f"images must be a uint8 (N, S, S) stack, got {images_uint8.dtype} {shape}"
            )
        if shape[1:] != (self.size, self.size):
            raise InputError(
                f"images are {shape[1]}x{shape[2]} but the model takes {self.size}x{self.size}"
            )
        idx = np.arange(shape[0]) if indices is None else np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1:
            raise InputError(f"indices must be 1-D, got shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= shape[0]):
            raise InputError(
                f"image indices must lie in [0, {shape[0]}), got {idx.min()}..{idx.max()}"
            )
        return idx

    def compute_maps(
        self,
        images_uint8: np.ndarray,
        indices: Sequence[int] | None,
        out_path: str | os.PathLike,
        *,
        seed: int,
        out_raw: str | os.PathLike | None = None,
        log: Callable[[str], None] | logging.Logger | None = None,
    ) -> dict[str, Any]:
        """Write ``float16 (n, S, S)`` maps of ``images_uint8[indices]`` to ``out_path`` (and,
        with ``out_raw``, their raw attributions: ``summary["raw_scale"]`` holds the scales).

        ``images_uint8``: ``uint8 (N, S, S)`` (a memory map is fine: rows are read one chunk
        at a time); ``indices``: ``n`` row numbers (``None``: all rows), map ``k`` belongs to
        ``indices[k]``. Image ``i`` draws its noise from ``image_seed(seed, i)``. The output is
        written atomically through a memory map, one chunk at a time, so peak memory does not
        grow with ``n``. Progress (maps done, maps/s) is logged about every 10%. Returns a
        summary (``n``, ``seconds``, ``maps_per_s``, ``method``, ``params``, the plan and the
        number of compiled calls/traces).
        """
        logfn = _as_logfn(log)
        idx = self._check_images(images_uint8, indices)
        n = int(idx.size)
        plan = self.prepare(n)
        name = self.method.name
        logfn(
            f"{name} {self.method.params}: {n} images of {self.size}x{self.size}, "
            f"{plan.images} image(s) per chunk, {plan.batch} model inputs per call, "
            f"{self.method.gradient_evaluations} gradient evaluations per image"
        )
        t0 = time.perf_counter()
        next_report = 0.1
        shape = (n, self.size, self.size)
        scales = np.zeros(n)
        raw_file = open_memmap_atomic(out_raw, shape, np.float16) if out_raw else nullcontext()
        with open_memmap_atomic(out_path, shape, np.float16) as out, raw_file as raw_out:
            for start in range(0, n, plan.images):
                chunk = idx[start : start + plan.images]
                maps, raw, scale = self.maps_and_raw(images_uint8, chunk, seed=seed)
                out[start : start + chunk.size] = maps
                scales[start : start + chunk.size] = scale
                if raw_out is not None:
                    raw_out[start : start + chunk.size] = raw
                done = start + chunk.size
                if done >= next_report * n or done == n:
                    rate = done / max(time.perf_counter() - t0, 1e-9)
                    logfn(f"{name}: {done}/{n} maps ({100 * done / n:.0f}%), {rate:.3g} maps/s")
                    while next_report * n <= done:
                        next_report += 0.1
        seconds = time.perf_counter() - t0
        return {
            "method": name,
            "params": self.method.params,
            "n": n,
            "seconds": seconds,
            "maps_per_s": n / seconds if seconds > 0 else float("nan"),
            "images_per_chunk": plan.images,
            "batch": plan.batch,
            "traces": self.trace_count,
            "raw_scale": [float(v) for v in scales],
        }
