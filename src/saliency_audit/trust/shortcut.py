"""The planted-shortcut benchmark: does a map expose a classifier that reads a marker?

Data (:func:`make_data`): chest phantoms (:mod:`saliency_audit.synth.phantom`) drawn at
``size`` and area-resized to the model's side; a share ``marker_rate`` of the training and
validation positives carry the letter-like marker in the top-right corner, so a classifier
can learn "marker means positive"; the test images carry it on **both** classes (it says
nothing there) or on **neither**. A clean twin of every image is the same pixels without the
marker: the *clean* classifier is trained on the twins of the same training images, and both
classifiers are tested on the same test images.

Scores (:func:`attribution_shares`): per map the share of its attribution mass (``|raw|``, or
the display map) inside the marker's box (the box as drawn, or where it would be drawn:
:func:`~saliency_audit.synth.phantom.marker_envelope`) and inside the lesion's ground truth.
A method **exposes the shortcut** when the shortcut model's marker share is significantly
above the clean model's on the same images (paired, the mixed model of the other verdicts).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from .. import imageops
from ..metrics.attribution import relevance_mass_accuracy
from ..synth.dicom_writer import split_count
from ..synth.phantom import add_marker, draw_phantom, marker_envelope

#: the scores of one map (tidy ``metric`` names)
SHARES = ("marker_share", "lesion_share")


def _assign_splits(labels: np.ndarray, fractions: dict, rng) -> np.ndarray:
    """train / val / test per image, stratified by label (each split holds both classes)."""
    out = np.empty(labels.size, dtype=object)
    total = sum(fractions.values())
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = max(1, split_count(idx.size, fractions["val"] / total))
        n_test = max(1, split_count(idx.size, fractions["test"] / total))
        out[idx[:n_test]] = "test"
        out[idx[n_test : n_test + n_val]] = "val"
        out[idx[n_test + n_val :]] = "train"
    return out


def make_data(
    *,
    n_images: int,
    positive_rate: float,
    size: int,
    out_size: int,
    lesion: str,
    marker_rate: float,
    test_marker: str,
    fractions: dict,
    seed: int,
    log: logging.Logger | None = None,
) -> dict:
    """The benchmark's images: ``images`` (the shortcut variant) and ``clean`` (``uint8 (n, S,
    S)``, equal on the test rows), ``masks`` (the lesion), ``marker`` (the marker's region),
    and ``index`` (``index, image_id, label, split, marker``)."""
    log = log or logging.getLogger(__name__)
    rng = np.random.default_rng(seed)
    n_pos = split_count(n_images, positive_rate)
    labels = np.zeros(n_images, dtype=np.int64)
    labels[rng.choice(n_images, n_pos, replace=False)] = 1
    splits = _assign_splits(labels, fractions, rng)
    fit = np.flatnonzero((splits != "test") & (labels == 1))
    marked = np.zeros(n_images, dtype=bool)
    marked[rng.choice(fit, split_count(fit.size, marker_rate), replace=False)] = True
    if test_marker == "both":
        marked[splits == "test"] = True
    shape = (out_size, out_size)
    images = np.zeros((n_images, *shape), np.uint8)
    clean = np.zeros_like(images)
    masks = np.zeros_like(images)
    marker = np.zeros_like(images)
    ex, ey, ew, eh = marker_envelope(size)
    t0 = time.perf_counter()
    for i in range(n_images):
        img_rng = np.random.default_rng([seed, i])
        ph = draw_phantom(img_rng, size, lesion if labels[i] else None)
        gt = ph.mask if lesion == "pneumothorax" else ph.box_mask
        region = np.zeros((size, size), np.uint8)
        with_marker = ph.image
        if marked[i]:
            with_marker, (x, y, w, h) = add_marker(ph.image, img_rng)
            region[y : y + h, x : x + w] = 1
        else:
            region[ey : ey + eh, ex : ex + ew] = 1
        small = imageops.to_uint8(imageops.resize_area(ph.image / 255.0, shape))
        images[i] = imageops.to_uint8(imageops.resize_area(with_marker / 255.0, shape))
        clean[i] = images[i] if splits[i] == "test" else small
        masks[i] = imageops.resize_mask(gt, shape)
        marker[i] = imageops.resize_mask(region, shape)
        if (i + 1) % 50 == 0 or i + 1 == n_images:
            rate = (i + 1) / max(time.perf_counter() - t0, 1e-9)
            log.info("%d/%d phantoms (%.1f images/s)", i + 1, n_images, rate)
    index = pd.DataFrame(
        {
            "index": np.arange(n_images),
            "image_id": [f"shortcut{i:05d}" for i in range(n_images)],
            "patient_hash": [f"p{i:05d}" for i in range(n_images)],
            "label": labels,
            "annotated": 1,
            "split": splits,
            "marker": marked.astype(int),
        }
    )
    return dict(images=images, clean=clean, masks=masks, marker=marker, index=index)


def attribution_shares(maps: np.ndarray, masks: np.ndarray, marker: np.ndarray) -> dict:
    """Per map: the share of its (non-negative) attribution mass on the marker's region and
    on the lesion (``relevance mass``; NaN for an all-zero map)."""
    maps = np.abs(np.asarray(maps, np.float32))
    return {
        "marker_share": relevance_mass_accuracy(maps, np.asarray(marker) > 0),
        "lesion_share": relevance_mass_accuracy(maps, np.asarray(masks) > 0),
    }
