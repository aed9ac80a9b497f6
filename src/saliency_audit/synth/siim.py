"""A synthetic look-alike of the SIIM-ACR Pneumothorax Segmentation training data.

Layout (as in the Kaggle download)::

    root/dicom-images-train/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm
    root/train-rle.csv     # "ImageId, EncodedPixels"; "<id>, -1" or "<id>, <rle>" per region

The RLE is column-major over the image's rows x cols, by default in the stage-1 "relative"
form (first start absolute, later starts are gaps).  ``stage=2`` writes the header without
the space after the comma (``ImageId,EncodedPixels``) and rows without it either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import rle
from ..errors import InputError
from ..io import write_text
from . import dicom_writer as dw
from .phantom import draw_phantom

IMAGE_DIR = "dicom-images-train"
LABELS = "train-rle.csv"
_STREAM = 0x5115  # separates this writer's random streams from the RSNA writer's


@dataclass
class SiimRecord(dw.CrRecord):
    """One synthetic SIIM image (its ImageId is the SOPInstanceUID; age like ``038Y``)."""

    positive: bool = False

    @property
    def image_id(self) -> str:
        return self.sop_uid

    @property
    def relpath(self) -> str:
        return f"{IMAGE_DIR}/{self.study_uid}/{self.series_uid}/{self.image_id}.dcm"


@dw.plans(dw.check_plan)
def siim_records(
    *, multi_image_patient_rate: float = 0.1, bilateral_rate: float = 0.15, **plan
) -> Iterator[SiimRecord]:
    """Plan a synthetic SIIM dataset (parameters checked now) and iterate over its images.

    The returned iterator draws each phantom lazily, in file order.

    Exactly ``round(n_images * positive_rate)`` images are positive and
    ``round(n_positive * shortcut_rate)`` of those carry the shortcut marker.  About a
    fraction ``multi_image_patient_rate`` of the images belong to a patient with two images.
    """
    n_images, positive_rate, size, seed, shortcut_rate = dw.check_plan(**plan)
    multi_rate = dw.check_rate("multi_image_patient_rate", multi_image_patient_rate)
    bilateral_rate = dw.check_rate("bilateral_rate", bilateral_rate)

    rng = np.random.default_rng([seed, _STREAM])
    n_pos = dw.split_count(n_images, positive_rate)
    positive = np.zeros(n_images, dtype=bool)
    positive[rng.choice(n_images, n_pos, replace=False)] = True
    shortcut = np.zeros(n_images, dtype=bool)
    pos_idx = np.flatnonzero(positive)
    shortcut[rng.choice(pos_idx, dw.split_count(n_pos, shortcut_rate), replace=False)] = True

    owner, n_patients = dw.patient_owners(rng, n_images, multi_rate)
    patients = [
        (
            dw.uuid4_like(rng),
            f"{int(np.clip(rng.normal(48, 16), 5, 92)):03d}Y",
            "M" if rng.random() < 0.55 else "F",
        )
        for _ in range(n_patients)
    ]
    uids = dw.dcmtk_uids(rng, n_images)
    views = np.where(rng.random(n_images) < 0.6, "PA", "AP")
    dates = [dw.seeded_date_time(rng) for _ in range(n_images)]
    bilateral = np.zeros(n_images, dtype=bool)
    bilateral[rng.choice(pos_idx, dw.split_count(n_pos, bilateral_rate), replace=False)] = True

    def generate() -> Iterator[SiimRecord]:
        for i in range(n_images):
            image_rng = np.random.default_rng([seed, _STREAM, 1, i])
            phantom = draw_phantom(
                image_rng,
                size,
                "pneumothorax" if positive[i] else None,
                n_lesions=(2 if bilateral[i] else 1) if positive[i] else None,
                shortcut=bool(shortcut[i]),
            )
            pid, age, sex = patients[owner[i]]
            yield SiimRecord(
                index=i,
                patient_id=pid,
                age=age,
                sex=sex,
                **dw.study_header(uids, dates, views, i),
                positive=bool(positive[i]),
                shortcut=bool(shortcut[i]),
                phantom=phantom,
            )

    return generate()


@dw.plans(siim_records)
def write_siim(
    root: str | os.PathLike, *, stage: int = 1, rle_mode: str = "relative", **plan
) -> dict:
    """Write a synthetic SIIM-ACR-format dataset to ``root`` (replaced atomically).

    ``plan``: the keywords of :func:`siim_records` (``n_images``, ``positive_rate``, ``seed``,
    ``size``: image side in pixels, ...).  ``stage``: 1 (``ImageId, EncodedPixels``) or 2
    (``ImageId,EncodedPixels``).  ``rle_mode``: ``"relative"`` (stage-1 Kaggle form) or
    ``"absolute"`` (0-based absolute starts).  Returns a summary: ``n_images``,
    ``n_positive``, ``n_regions``, ``n_patients``, ``n_shortcut``, ``seconds``.
    """
    if stage not in (1, 2):
        raise InputError(f"synth parameter stage={stage!r}: expected 1 or 2")
    if rle_mode not in rle.MODES:
        raise InputError(f"synth parameter rle_mode={rle_mode!r}: expected one of {rle.MODES}")
    records = siim_records(**plan)
    sep = ", " if stage == 1 else ","
    lines = [f"ImageId{sep}EncodedPixels"]
    summary = {"format": "siim", "n_total": plan["n_images"], "n_positive": 0, "n_regions": 0}
    patients = set()
    with dw.atomic_directory(root) as tmp:
        for rec in dw.write_images(tmp, records, summary):
            if rec.positive:
                for region in rec.phantom.regions:
                    lines.append(f"{rec.image_id}{sep}{rle.encode(region, mode=rle_mode)}")
                summary["n_positive"] += 1
                summary["n_regions"] += len(rec.phantom.regions)
            else:
                lines.append(f"{rec.image_id}{sep}{rle.NO_MASK}")
            patients.add(rec.patient_id)
        write_text(Path(tmp) / LABELS, "\n".join(lines) + "\n")
    summary["n_patients"] = len(patients)
    return summary
