"""TensorFlow process set-up: threads, GPU memory growth, seeds and op determinism."""

from __future__ import annotations

import contextlib
import logging

logger = logging.getLogger(__name__)


def configure_tensorflow(threads: int | None, deterministic: bool = True, *, seed: int) -> None:
    """Configure TensorFlow/Keras for one job; call it before building any model.

    - every visible GPU grows its memory on demand (a job shares the card politely);
    - ``threads`` sets both intra- and inter-op thread pools (``None`` keeps TF's default);
    - ``keras.utils.set_random_seed(seed)`` seeds Python, NumPy, TF and Keras;
    - ``deterministic`` enables ``tf.config.experimental.enable_op_determinism()``.

    Thread and memory settings can only change before TensorFlow initialises its runtime; if
    that already happened, a warning is logged and the current settings are kept.
    """
    import keras
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as exc:  # runtime already initialised
            logger.warning("could not enable memory growth on %s: %s", gpu.name, exc)
    if threads is not None:
        threads = int(threads)
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        for setter, getter in (
            (
                tf.config.threading.set_intra_op_parallelism_threads,
                tf.config.threading.get_intra_op_parallelism_threads,
            ),
            (
                tf.config.threading.set_inter_op_parallelism_threads,
                tf.config.threading.get_inter_op_parallelism_threads,
            ),
        ):
            if getter() == threads:
                continue
            try:
                setter(threads)
            except RuntimeError as exc:
                logger.warning("could not set TensorFlow threads to %d: %s", threads, exc)
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def graph_optimizer_off():
    """Within the block, TensorFlow compiles functions without the Grappler graph optimiser.

    Grappler rewrites every new compiled function once, before its first run; for the
    training step of InceptionV3 / DenseNet-121 (10-20 thousand nodes) that takes 3-6 s on a
    CPU, while the steps themselves run about as fast without it (measured on 2 cores).  The
    previous optimiser options are restored on exit.
    """
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        restore = {"disable_meta_optimizer": False, **before}
        tf.config.optimizer.set_experimental_options(restore)
