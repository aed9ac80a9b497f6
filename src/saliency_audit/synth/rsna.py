"""A synthetic look-alike of the RSNA Pneumonia Detection Challenge (stage 2) training data.

Layout (as in the Kaggle download)::

    root/stage_2_train_images/<patientId>.dcm
    root/stage_2_train_labels.csv          # patientId,x,y,width,height,Target (one row per box)
    root/stage_2_detailed_class_info.csv   # patientId,class (repeated per box row)

Boxes are in pixels of the written image, ``x, y`` the top-left corner, formatted like
``264.0``; rows of Target 0 have empty box fields (``<id>,,,,,0``).  Classes are
``Lung Opacity`` (positives), ``Normal`` and ``No Lung Opacity / Not Normal`` (negatives
with a non-opacity abnormality: enlarged heart, elevated hemidiaphragm).  PatientAge has
no ``Y`` suffix, as in the real files.  Rows are sorted by patientId, as in the real CSVs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import write_text
from . import dicom_writer as dw
from .phantom import draw_phantom

IMAGE_DIR = "stage_2_train_images"
LABELS = "stage_2_train_labels.csv"
CLASS_INFO = "stage_2_detailed_class_info.csv"
OPACITY, NORMAL, NOT_NORMAL = "Lung Opacity", "Normal", "No Lung Opacity / Not Normal"
_STREAM = 0x2594  # separates this writer's random streams from the SIIM writer's


@dataclass
class RsnaRecord(dw.CrRecord):
    """One synthetic RSNA image: ``patient_id`` is the file stem and DICOM PatientID, age like
    ``51``; ``label`` is OPACITY, NORMAL or NOT_NORMAL."""

    label: str = NORMAL

    @property
    def positive(self) -> bool:
        return self.label == OPACITY

    @property
    def relpath(self) -> str:
        return f"{IMAGE_DIR}/{self.patient_id}.dcm"


@dw.plans(dw.check_plan)
def rsna_records(*, not_normal_rate: float = 0.1, **plan) -> Iterator[RsnaRecord]:
    """Plan a synthetic RSNA dataset (parameters checked now) and iterate over its images.

    Exactly ``round(n_images * positive_rate)`` images are positive, ``round(n_positive *
    shortcut_rate)`` of those carry the shortcut marker and ``round(n_negative *
    not_normal_rate)`` negatives are "No Lung Opacity / Not Normal".  Phantoms are drawn
    lazily, in index order.
    """
    n_images, positive_rate, size, seed, shortcut_rate = dw.check_plan(**plan)
    not_normal_rate = dw.check_rate("not_normal_rate", not_normal_rate)

    rng = np.random.default_rng([seed, _STREAM])
    n_pos = dw.split_count(n_images, positive_rate)
    order = rng.permutation(n_images)
    labels = np.full(n_images, NORMAL, dtype=object)
    labels[order[:n_pos]] = OPACITY
    n_nn = dw.split_count(n_images - n_pos, not_normal_rate)
    labels[order[n_pos : n_pos + n_nn]] = NOT_NORMAL
    shortcut = np.zeros(n_images, dtype=bool)
    shortcut[rng.choice(order[:n_pos], dw.split_count(n_pos, shortcut_rate), replace=False)] = True

    ids = [dw.uuid4_like(rng) for _ in range(n_images)]
    ages = [str(int(np.clip(rng.normal(47, 16), 2, 92))) for _ in range(n_images)]
    sexes = np.where(rng.random(n_images) < 0.57, "M", "F")
    views = np.where(rng.random(n_images) < 0.53, "PA", "AP")
    uids = dw.dcmtk_uids(rng, n_images)
    dates = [dw.seeded_date_time(rng) for _ in range(n_images)]

    def generate() -> Iterator[RsnaRecord]:
        for i in range(n_images):
            image_rng = np.random.default_rng([seed, _STREAM, 1, i])
            phantom = draw_phantom(
                image_rng,
                size,
                "pneumonia" if labels[i] == OPACITY else None,
                shortcut=bool(shortcut[i]),
                abnormal=labels[i] == NOT_NORMAL,
            )
            yield RsnaRecord(
                index=i,
                patient_id=ids[i],
                age=ages[i],
                sex=str(sexes[i]),
                **dw.study_header(uids, dates, views, i),
                label=str(labels[i]),
                shortcut=bool(shortcut[i]),
                phantom=phantom,
            )

    return generate()


def _box_row(patient_id: str, box: tuple[int, int, int, int]) -> str:
    x, y, w, h = (float(b) for b in box)
    return f"{patient_id},{x:.1f},{y:.1f},{w:.1f},{h:.1f},1"


@dw.plans(rsna_records)
def write_rsna(root: str | os.PathLike, **plan) -> dict:
    """Write a synthetic RSNA-format dataset to ``root`` (replaced atomically).

    ``plan``: the keywords of :func:`rsna_records` (``n_images``, ``positive_rate``, ``seed``,
    ``size``: image side in pixels, in which the boxes are given, ...).  Returns a
    summary: ``n_images``, ``n_positive``, ``n_boxes``, ``n_not_normal``, ``n_shortcut``,
    ``seconds``.
    """
    records = rsna_records(**plan)
    rows: list[tuple[str, list[str], list[str]]] = []  # (patientId, label rows, class rows)
    summary = {"format": "rsna", "n_total": plan["n_images"], "n_positive": 0, "n_boxes": 0}
    summary["n_not_normal"] = 0
    with dw.atomic_directory(root) as tmp:
        for rec in dw.write_images(tmp, records, summary):
            if rec.positive:
                boxes = rec.phantom.boxes
                label_rows = [_box_row(rec.patient_id, b) for b in boxes]
                class_rows = [f"{rec.patient_id},{OPACITY}"] * len(boxes)
                summary["n_positive"] += 1
                summary["n_boxes"] += len(boxes)
            else:
                label_rows = [f"{rec.patient_id},,,,,0"]
                class_rows = [f"{rec.patient_id},{rec.label}"]
                summary["n_not_normal"] += rec.label == NOT_NORMAL
            rows.append((rec.patient_id, label_rows, class_rows))
        rows.sort(key=lambda r: r[0])
        labels = ["patientId,x,y,width,height,Target"] + [x for r in rows for x in r[1]]
        classes = ["patientId,class"] + [x for r in rows for x in r[2]]
        write_text(Path(tmp) / LABELS, "\n".join(labels) + "\n")
        write_text(Path(tmp) / CLASS_INFO, "\n".join(classes) + "\n")
    return summary
