"""Where a model runs: device choice, free accelerator memory, and batch sizes from it.

``device``: ``auto`` (the first GPU when the framework sees one, else the CPU), ``cpu``,
``cuda`` / ``cuda:N`` (PyTorch) or ``gpu`` / ``gpu:N``. Gradients always run in float32: mixed
precision would round small gradients, which are most of a saliency map, to zero or to a few
levels (see ``docs/paper-fidelity.md``), so no backend turns it on.

Batch size ``auto``: on a CPU the engine's default (:data:`CPU_BATCH`); on a GPU, the model
inputs per call that fill :data:`MEMORY_SHARE` of the free memory, from the memory one input
gradient takes (measured on the device with two probe calls), between 1 and :data:`MAX_BATCH`.
"""

from __future__ import annotations

import logging

from saliency_audit.errors import InputError

CPU_BATCH = 32
MAX_BATCH = 1024
MEMORY_SHARE = 0.6

log = logging.getLogger(__name__)


def torch_device(pref: str | None = None):
    """A ``torch.device`` for ``pref`` (see the module docstring)."""
    import torch

    pref = (pref or "auto").lower().replace("gpu", "cuda")
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {pref!r}: PyTorch sees no CUDA device")
    try:
        return torch.device(pref)
    except RuntimeError as exc:
        raise InputError(f"device {pref!r}: {exc}") from None


def free_memory(backend) -> tuple[int, int] | None:
    """``(free, total)`` bytes of the backend's accelerator, ``None`` on a CPU."""
    fw, dev = backend.framework, str(backend.device).lower()
    if "cpu" in dev:
        return None
    if fw == "torch":
        import torch

        return tuple(int(v) for v in torch.cuda.mem_get_info(torch.device(dev)))
    if fw == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        total = int(stats.get("bytes_limit", 0))
        return (total - int(stats.get("bytes_in_use", 0)), total) if total else None
    import tensorflow as tf

    info = tf.config.experimental.get_memory_info("GPU:0")
    details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
    total = int(details.get("memory_limit", 0) or 0)
    return (total - int(info["current"]), total) if total else None


def _peak_bytes(backend, kind: str, n: int) -> int:
    """Peak accelerator bytes of one ``kind`` call at batch ``n``."""
    import numpy as np

    x = np.zeros((n, *backend.image_shape), np.float32)
    fn = backend.compile(kind, n)
    if backend.framework == "torch":
        import torch

        torch.cuda.reset_peak_memory_stats()
        fn(x, np.ones(n, np.float32))
        torch.cuda.synchronize()
        return int(torch.cuda.max_memory_allocated())
    if backend.framework == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("GPU:0")
        fn(x, np.ones(n, np.float32))
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    fn(x, np.ones(n, np.float32))
    import jax

    return int((jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use", 0))


def auto_batch(backend, kind: str = "input", share: float = MEMORY_SHARE) -> int:
    """Model inputs per call for ``backend`` (see the module docstring)."""
    free = free_memory(backend)
    if free is None:
        return CPU_BATCH
    small, large = 2, 8
    per_input = (_peak_bytes(backend, kind, large) - _peak_bytes(backend, kind, small)) / (
        large - small
    )
    if per_input <= 0:
        return MAX_BATCH
    batch = int(share * free[0] // per_input)
    batch = max(1, min(MAX_BATCH, batch))
    log.info(
        "batch size %d from %.1f GiB free of %.1f GiB, %.1f MiB per input (%s)",
        batch,
        free[0] / 2**30,
        free[1] / 2**30,
        per_input / 2**20,
        kind,
    )
    return batch
