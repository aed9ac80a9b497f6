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
from .dicom_writer import (
    Progress,
    atomic_directory,
    check_count,
    check_rate,
    dcmtk_uids,
    seeded_date_time,
    split_count,
    uuid4_like,
    write_cr_dicom,
)
from .phantom import Phantom, draw_phantom

IMAGE_DIR = "dicom-images-train"
LABELS = "train-rle.csv"
_STREAM = 0x5115  # separates this writer's random streams from the RSNA writer's


@dataclass
class SiimRecord:
    """One synthetic SIIM image: its identifiers, header values and phantom."""

    index: int
    image_id: str  # = SOPInstanceUID
    study_uid: str
    series_uid: str
    patient_id: str
    age: str  # "038Y"
    sex: str
    view: str
    study_date: str
    study_time: str
    positive: bool
    shortcut: bool
    phantom: Phantom

    @property
    def relpath(self) -> str:
        return f"{IMAGE_DIR}/{self.study_uid}/{self.series_uid}/{self.image_id}.dcm"


def siim_records(
    *,
    n_images: int,
    positive_rate: float,
    size: int = 1024,
    seed: int,
    shortcut_rate: float = 0.0,
    multi_image_patient_rate: float = 0.1,
    bilateral_rate: float = 0.15,
) -> Iterator[SiimRecord]:
    """Plan a synthetic SIIM dataset (parameters checked now) and iterate over its images.

    The returned iterator draws each phantom lazily, in file order.

    Exactly ``round(n_images * positive_rate)`` images are positive and
    ``round(n_positive * shortcut_rate)`` of those carry the shortcut marker.  About a
    fraction ``multi_image_patient_rate`` of the images belong to a patient with two images.
    """
    n_images = check_count("n_images", n_images)
    positive_rate = check_rate("positive_rate", positive_rate)
    size = check_count("size", size, 32)
    seed = check_count("seed", seed, 0)
    shortcut_rate = check_rate("shortcut_rate", shortcut_rate)
    multi_rate = check_rate("multi_image_patient_rate", multi_image_patient_rate)
    bilateral_rate = check_rate("bilateral_rate", bilateral_rate)

    rng = np.random.default_rng([seed, _STREAM])
    n_pos = split_count(n_images, positive_rate)
    positive = np.zeros(n_images, dtype=bool)
    positive[rng.choice(n_images, n_pos, replace=False)] = True
    shortcut = np.zeros(n_images, dtype=bool)
    pos_idx = np.flatnonzero(positive)
    shortcut[rng.choice(pos_idx, split_count(n_pos, shortcut_rate), replace=False)] = True

    # patients: the first n_pairs own two images each; images are shuffled over patients
    n_pairs = min(split_count(n_images, multi_rate) // 2, n_images // 2)
    owner = np.concatenate(
        [np.repeat(np.arange(n_pairs), 2), np.arange(n_pairs, n_images - n_pairs)]
    )
    owner = owner[rng.permutation(n_images)]
    n_patients = n_images - n_pairs
    patients = [
        (
            uuid4_like(rng),
            f"{int(np.clip(rng.normal(48, 16), 5, 92)):03d}Y",
            "M" if rng.random() < 0.55 else "F",
        )
        for _ in range(n_patients)
    ]
    uids = dcmtk_uids(rng, n_images)
    views = np.where(rng.random(n_images) < 0.6, "PA", "AP")
    dates = [seeded_date_time(rng) for _ in range(n_images)]
    bilateral = np.zeros(n_images, dtype=bool)
    bilateral[rng.choice(pos_idx, split_count(n_pos, bilateral_rate), replace=False)] = True

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
            study, series, sop = uids[i]
            yield SiimRecord(
                index=i,
                image_id=sop,
                study_uid=study,
                series_uid=series,
                patient_id=pid,
                age=age,
                sex=sex,
                view=str(views[i]),
                study_date=dates[i][0],
                study_time=dates[i][1],
                positive=bool(positive[i]),
                shortcut=bool(shortcut[i]),
                phantom=phantom,
            )

    return generate()


def write_siim(
    root: str | os.PathLike,
    *,
    n_images: int,
    positive_rate: float,
    size: int = 1024,
    seed: int,
    shortcut_rate: float = 0.0,
    multi_image_patient_rate: float = 0.1,
    bilateral_rate: float = 0.15,
    stage: int = 1,
    rle_mode: str = "relative",
) -> dict:
    """Write a synthetic SIIM-ACR-format dataset to ``root`` (replaced atomically).

    ``size``: image side in pixels.  ``stage``: 1 (``ImageId, EncodedPixels``) or 2
    (``ImageId,EncodedPixels``).  ``rle_mode``: ``"relative"`` (stage-1 Kaggle form) or
    ``"absolute"`` (0-based absolute starts).  Returns a summary: ``n_images``,
    ``n_positive``, ``n_regions``, ``n_patients``, ``n_shortcut``, ``seconds``.
    """
    if stage not in (1, 2):
        raise InputError(f"synth parameter stage={stage!r}: expected 1 or 2")
    if rle_mode not in rle.MODES:
        raise InputError(f"synth parameter rle_mode={rle_mode!r}: expected one of {rle.MODES}")
    records = siim_records(
        n_images=n_images,
        positive_rate=positive_rate,
        size=size,
        seed=seed,
        shortcut_rate=shortcut_rate,
        multi_image_patient_rate=multi_image_patient_rate,
        bilateral_rate=bilateral_rate,
    )
    sep = ", " if stage == 1 else ","
    lines = [f"ImageId{sep}EncodedPixels"]
    summary = {"format": "siim", "n_images": 0, "n_positive": 0, "n_regions": 0, "n_shortcut": 0}
    patients = set()
    progress = Progress("siim", int(n_images))
    with atomic_directory(root) as tmp:
        for rec in records:
            write_cr_dicom(
                Path(tmp) / rec.relpath,
                rec.phantom.image,
                patient_id=rec.patient_id,
                patient_name=rec.patient_id,
                study_uid=rec.study_uid,
                series_uid=rec.series_uid,
                sop_uid=rec.image_id,
                age=rec.age,
                sex=rec.sex,
                view=rec.view,
                study_date=rec.study_date,
                study_time=rec.study_time,
            )
            if rec.positive:
                for region in rec.phantom.regions:
                    lines.append(f"{rec.image_id}{sep}{rle.encode(region, mode=rle_mode)}")
                summary["n_positive"] += 1
                summary["n_regions"] += len(rec.phantom.regions)
            else:
                lines.append(f"{rec.image_id}{sep}{rle.NO_MASK}")
            summary["n_shortcut"] += rec.shortcut
            patients.add(rec.patient_id)
            summary["n_images"] += 1
            progress.update(summary["n_images"])
        write_text(Path(tmp) / LABELS, "\n".join(lines) + "\n")
    summary["n_patients"] = len(patients)
    summary["seconds"] = round(progress.seconds, 3)
    return summary
