"""A synthetic look-alike of NIH ChestX-ray14 (the Kaggle "NIH Chest X-rays" download).

Layout (as in the download)::

    root/images_001/images/00000001_000.png   # <patient:08d>_<follow-up:03d>.png, 8-bit
    root/images_002/images/...                # the images, sorted by name, in about equal
    root/images_003/images/...                # thirds (fewer folders for < 3 images)
    root/Data_Entry_2017.csv                  # one row per image, sorted by Image Index
    root/BBox_List_2017.csv                   # one row per box

``Data_Entry_2017.csv`` keeps the real header (:data:`LABELS_HEADER`, one line), whose
bracketed names contain commas, and the trailing comma of every line::

    Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,
        View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],
    00000001_000.png,Cardiomegaly|Infiltration,0,1,058Y,M,PA,1024,1024,0.143,0.143,

Finding Labels are pipe-separated in alphabetical order, ``No Finding`` when none; ages like
``058Y``; patients numbered 1..P, follow-ups 0, 1, ... per patient in image order.
``BBox_List_2017.csv`` has the real header ``Image Index,Finding Label,Bbox [x,y,w,h],,,``
(nine fields, three empty) and rows like
``00000001_000.png,Cardiomegaly,225.0849609375,547.0185546875,86.9150390625,79.9814453125,,,``:
top-left corner and size in pixels of the written image, with the real file's quirk that
``Infiltration`` boxes are labelled ``Infiltrate``; rows are grouped by finding name in
alphabetical order, as in the real file, then sorted by Image Index.

Findings (:mod:`.findings`): ``pneumothorax`` -> ``Pneumothorax`` (one box per air pocket),
``pneumonia`` -> ``Infiltration`` (one box per opacity), ``cardiomegaly`` -> ``Cardiomegaly``
(the heart's box). Each (image, finding) gets its boxes with probability ``box_rate``: the real
box list covers ~1k of the 112k images, so most real positives have none. Each box is the
instance mask's tight box with its top-left corner moved by a seeded sub-pixel offset in
``[0, 0.5)`` (a multiple of 1/1024, so that values have decimals, round-trip exactly and the
box keeps its right and bottom edges: it stays inside the image and covers the same pixels).
A seeded share ``rgba_rate`` of the PNGs is RGBA (gray in R, G and B; alpha 255), as a few
real files are.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io import atomic_path, write_text
from . import dicom_writer as dw
from .findings import findings_images, write_png

LABELS = "Data_Entry_2017.csv"
BOXES = "BBox_List_2017.csv"
LABELS_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
    "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],"
)
BOXES_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"
NO_FINDING = "No Finding"
#: phantom finding -> its name in Data_Entry_2017.csv
FINDING_NAMES = {
    "pneumothorax": "Pneumothorax",
    "pneumonia": "Infiltration",
    "cardiomegaly": "Cardiomegaly",
}
#: Data_Entry name -> the name the box list gives it, where they differ (the real quirk)
BOX_NAMES = {"Infiltration": "Infiltrate"}
PIXEL_SPACING = "0.143"
IMAGES_PER_FOLDER = 3  # folders the images are spread over (about a third each)
OFFSET_STEPS = 1024  # sub-pixel offsets are multiples of 1/1024 in [0, 0.5)
_STREAM = 0x0E14  # separates this writer's random streams from the SIIM/RSNA writers'


def _folder(k: int) -> str:
    return f"images_{k + 1:03d}/images"


def _write_rgba_png(path, pixels: np.ndarray) -> None:
    """An RGBA PNG: the gray value in R, G and B, alpha 255 (atomically)."""
    from PIL import Image

    rgba = np.empty((*pixels.shape, 4), dtype=np.uint8)
    rgba[..., :3] = pixels[..., None]
    rgba[..., 3] = 255
    with atomic_path(path) as tmp:
        Image.fromarray(rgba, mode="RGBA").save(tmp, format="PNG", optimize=False)


def _number(value: float) -> str:
    """A box value at full precision (exact for the multiples of 1/1024 written here)."""
    return repr(float(value))


@dw.plans(findings_images)
def write_nih(
    root: str | os.PathLike,
    *,
    box_rate: float = 1.0,
    rgba_rate: float = 0.05,
    multi_image_patient_rate: float = 0.3,
    **plan,
) -> dict:
    """Write a synthetic NIH ChestX-ray14 dataset to ``root`` (replaced atomically).

    ``plan``: the keywords of :func:`~.findings.findings_images` (``n_images``,
    ``positive_rate``, ``seed``, ``size``, ``shortcut_rate``, ``findings``: default all
    three). ``box_rate``: chance that an image's finding gets its boxes in the box list;
    ``rgba_rate``: share of RGBA PNGs (exact count, seeded); ``multi_image_patient_rate``:
    about this share of the images belong to a patient with two images (follow-ups 0 and 1).

    Returns a summary: ``format``, ``n_images``, ``n_patients``, ``n_folders``, ``n_rgba``,
    ``n_shortcut``, ``n_no_finding``, ``findings`` (Data_Entry name -> images with it),
    ``boxed`` (name -> images with its boxes), ``n_boxes``, ``seconds``.
    """
    box_rate = dw.check_rate("box_rate", box_rate)
    rgba_rate = dw.check_rate("rgba_rate", rgba_rate)
    multi_rate = dw.check_rate("multi_image_patient_rate", multi_image_patient_rate)
    kinds, images = findings_images(_STREAM, **plan)
    n_images, seed = len(kinds), int(plan["seed"])

    rng = np.random.default_rng([seed, _STREAM, 2])
    owner, n_patients = dw.patient_owners(rng, n_images, multi_rate)
    ages = [f"{int(np.clip(rng.normal(47, 17), 1, 94)):03d}Y" for _ in range(n_patients)]
    genders = np.where(rng.random(n_patients) < 0.56, "M", "F")
    views = np.where(rng.random(n_images) < 0.6, "PA", "AP")
    rgba = np.zeros(n_images, dtype=bool)
    rgba[rng.choice(n_images, dw.split_count(n_images, rgba_rate), replace=False)] = True
    boxed = rng.random((n_images, len(FINDING_NAMES))) < box_rate  # per (image, finding)
    offset_rng = np.random.default_rng([seed, _STREAM, 3])

    seen = np.zeros(n_patients, dtype=int)
    followup = []  # per image: its number among its patient's images, in image order
    for p in owner:
        followup.append(int(seen[p]))
        seen[p] += 1
    ids = [f"{p + 1:08d}_{f:03d}" for p, f in zip(owner, followup, strict=True)]
    n_folders = min(IMAGES_PER_FOLDER, n_images)
    folder_of = {}
    for k, part in enumerate(np.array_split(np.array(sorted(ids)), n_folders)):
        folder_of.update({image_id: _folder(k) for image_id in part})

    names = list(FINDING_NAMES)
    summary = {
        "format": "nih",
        "n_images": 0,
        "n_patients": n_patients,
        "n_folders": n_folders,
        "n_rgba": int(rgba.sum()),
        "n_shortcut": 0,
        "n_no_finding": sum(not k for k in kinds),
        "findings": {FINDING_NAMES[k]: sum(k in ks for ks in kinds) for k in names},
        "boxed": {FINDING_NAMES[k]: 0 for k in names},
        "n_boxes": 0,
    }
    entries: list[str] = []
    boxes: list[tuple[str, str, str]] = []  # (box list name, image id, row)
    progress = dw.Progress("nih", n_images)
    with dw.atomic_directory(root) as tmp:
        for img in images:
            i, image_id = img.index, ids[img.index]
            path = Path(tmp) / folder_of[image_id] / f"{image_id}.png"
            (_write_rgba_png if rgba[i] else write_png)(path, img.phantom.image)
            labels = sorted(FINDING_NAMES[k] for k in img.kinds) or [NO_FINDING]
            p, (rows, cols) = owner[i], img.phantom.image.shape
            entries.append(
                f"{image_id}.png,{'|'.join(labels)},{followup[i]},{p + 1},{ages[p]},"
                f"{genders[p]},{views[i]},{cols},{rows},{PIXEL_SPACING},{PIXEL_SPACING},"
            )
            for k, kind in enumerate(names):
                if kind not in img.kinds or not boxed[i, k]:
                    continue
                name = FINDING_NAMES[kind]
                summary["boxed"][name] += 1
                for x, y, w, h in img.boxes(kind):
                    ox, oy = offset_rng.integers(0, OFFSET_STEPS // 2, size=2) / OFFSET_STEPS
                    values = ",".join(map(_number, (x + ox, y + oy, w - ox, h - oy)))
                    box_name = BOX_NAMES.get(name, name)
                    boxes.append((box_name, image_id, f"{image_id}.png,{box_name},{values},,,"))
                    summary["n_boxes"] += 1
            summary["n_shortcut"] += img.shortcut
            summary["n_images"] += 1
            progress.update(summary["n_images"])
        entries.sort()
        boxes.sort(key=lambda b: b[:2])  # stable: an image's boxes stay in planted order
        write_text(Path(tmp) / LABELS, "\n".join([LABELS_HEADER, *entries]) + "\n")
        write_text(Path(tmp) / BOXES, "\n".join([BOXES_HEADER, *(b[2] for b in boxes)]) + "\n")
    summary["seconds"] = round(progress.seconds, 3)
    return summary
