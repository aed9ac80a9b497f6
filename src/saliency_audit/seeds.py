"""Derive independent, stable seeds from the config's root seed and names."""

from __future__ import annotations

import hashlib


def derive_seed(root: int, *names: object) -> int:
    """A 31-bit seed from ``root`` and ``names`` (stable across runs, processes, platforms).

    ``derive_seed(2021, "split", "pneumonia")`` differs from ``derive_seed(2021, "sample",
    "pneumonia")``, so stages never share a random stream by accident.
    """
    text = "\x1f".join([str(int(root)), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


#: how the noise of stochastic saliency methods (SG, SIG) is drawn across maps
NOISE_MODES = ("independent", "common")


def noise_seed(
    root: int,
    dataset: str,
    model: str,
    method: str,
    step: str = "trained",
    mode: str = "independent",
) -> int:
    """The noise seed of one method's maps of one model (at randomization ``step``).

    ``independent`` (the default): a seed per (dataset, model, step, method), so that two
    models' maps never share noise draws (shared noise makes maps of different models look
    alike and inflates repeatability and reproducibility). ``common``: one seed per (dataset,
    method) for every model and step. Either way each image draws from its own stream
    (:func:`saliency_audit.saliency.base.image_seed`).
    """
    if mode == "common":
        return derive_seed(root, "saliency", dataset, method)
    if mode != "independent":
        raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {mode!r}")
    return derive_seed(root, "saliency", dataset, model, step, method)
