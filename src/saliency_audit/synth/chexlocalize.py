"""A synthetic look-alike of CheXlocalize: CheXpert validation JPEGs and the ground truth.

Layout (as in the Stanford AIMI download)::

    root/CheXpert/val/patient64541/study1/view1_frontal.jpg   # 8-bit grayscale JPEG
    root/CheXpert/val/patient64541/study1/view2_lateral.jpg   # some studies (lateral_rate)
    root/CheXpert/val_labels.csv
        # Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,...,Support Devices (14 labels)
        # CheXpert-v1.0/valid/patient64541/study1/view1_frontal.jpg,Male,63,Frontal,AP,0.0,...
    root/CheXlocalize/gt_segmentations_val.json
        # {image id: {finding: {"size": [h, w], "counts": "<COCO RLE>"}}}
    root/CheXlocalize/gt_annotations_val.json
        # {image id: {"img_size": [h, w], finding: [[[x, y], ...], ...]}}
    root/CheXlocalize/hb_segmentations_val.json
        # a human benchmark in the segmentation JSON's layout (config key human_benchmark)

Each planned image (:func:`~.findings.findings_images`) is the frontal view of one study;
patients are numbered from 64541 and about ``multi_image_patient_rate`` of the images belong
to a patient with two studies (``study1``, ``study2``). The planted findings are labelled
``pneumothorax`` -> Pneumothorax, ``pneumonia`` -> Lung Opacity (the JSONs' "Airspace
Opacity") and ``cardiomegaly`` -> Cardiomegaly; every other label is 0.0 and "No Finding" is
1.0 exactly when an image has none. Images are not square, as CheXpert's are not: the square
phantom (``size`` x ``size``) is padded left and right with black to ``round(1.2 * size)``
columns, the ground truth shifted with it. A share ``lateral_rate`` of the studies also has a
lesion-free lateral view (its CSV row repeats the study's labels; no ground truth). The CSV is
sorted by Path, with the ``CheXpert-v1.0/valid/`` prefix of the real file.

The segmentation JSON holds every frontal image with a finding, all 10 localised findings
(the union of a finding's instances, all-zero for absent ones) encoded with pycocotools as
cheXlocalize's ``utils.encode_segmentation`` does; the annotation JSON holds the same images,
``img_size`` and one contour per instance (``skimage.measure.find_contours`` of the padded
instance mask, ``[x, y]`` rounded to 5 decimals, placed so that cheXlocalize's
``annotation_to_segmentation.py`` fills them back to the instance: :func:`instance_polygon`)
of the positive findings only. The human-benchmark JSON stands in for the readers'
segmentations cheXlocalize compares saliency methods with: the same images and findings, each
mask dilated by ``max(1, size // 50)`` pixels (a reader who outlines generously).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..formats.chexlocalize import COLUMNS, LABEL_COLUMNS, LOCALIZATION_TASKS
from ..io import write_text
from . import dicom_writer as dw
from .findings import findings_images, write_jpeg
from .phantom import draw_phantom

IMAGES = "CheXpert/val"
LABELS = "CheXpert/val_labels.csv"
SEGMENTATIONS = "CheXlocalize/gt_segmentations_val.json"
ANNOTATIONS = "CheXlocalize/gt_annotations_val.json"
#: a human benchmark: a reader's segmentations, the ground truth grown by a few pixels
HUMAN_BENCHMARK = "CheXlocalize/hb_segmentations_val.json"
CSV_PREFIX = "CheXpert-v1.0/valid/"
FIRST_PATIENT = 64541
WIDTH_RATIO = 1.2  # columns / rows of the written images
_STREAM = 0x64541  # separates this writer's random streams from the other formats'

HEADER = COLUMNS
#: planted finding -> (CSV column, JSON name)
NAMES = {
    "pneumothorax": ("Pneumothorax", "Pneumothorax"),
    "pneumonia": ("Lung Opacity", "Airspace Opacity"),
    "cardiomegaly": ("Cardiomegaly", "Cardiomegaly"),
}


def _grown(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` dilated by ``pixels`` (a square structuring element), uint8."""
    from scipy import ndimage

    grown = ndimage.binary_dilation(mask > 0, np.ones((2 * pixels + 1,) * 2, dtype=bool))
    return grown.astype(np.uint8)


def padded_columns(size: int) -> tuple[int, int]:
    """``(columns, left padding)`` of an image written from a ``size`` x ``size`` phantom."""
    cols = dw.split_count(size, WIDTH_RATIO)
    return cols, (cols - size) // 2


def pad(square: np.ndarray) -> np.ndarray:
    """A square image or mask padded left and right with zeros (black) to the written width."""
    cols, left = padded_columns(square.shape[0])
    return np.pad(square, ((0, 0), (left, cols - square.shape[1] - left)))


def encode_segmentation(mask: np.ndarray) -> dict:
    """A binary mask as a COCO RLE with text counts (cheXlocalize's ``encode_segmentation``)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode()}


def instance_polygon(mask: np.ndarray) -> list[list[list[float]]]:
    """The outline of each connected part of ``mask`` (one for a connected instance) as
    ``[[x, y], ...]`` (x = column) that cheXlocalize's ``create_mask`` (Pillow's
    ``ImageDraw.polygon`` with outline) fills back to that part.

    ``skimage.measure.find_contours`` at level 0.75 runs just inside the boundary pixels'
    centres; Pillow's pixel ``(c, r)`` spans ``[c, c + 1) x [r, r + 1)``, so the contour is
    shifted by half a pixel (at level 0.5, the outline would add a ring of pixels)."""
    from scipy import ndimage
    from skimage import measure

    parts, n = ndimage.label(mask)
    rows, cols = mask.shape
    out = []
    for k in range(1, n + 1):
        framed = np.pad((parts == k).astype(np.float64), 1)  # closed contours at the border
        contour = max(measure.find_contours(framed, 0.75), key=len) - 1.0 + 0.5
        ys = np.clip(contour[:, 0], 0, rows)
        xs = np.clip(contour[:, 1], 0, cols)
        out.append([[round(float(x), 5), round(float(y), 5)] for x, y in zip(xs, ys, strict=True)])
    return out


@dataclass(frozen=True)
class Study:
    """Planned image ``i``'s study: ``folder`` (``patient64541/study1``), ``patient`` (its
    number), whether it also has a lateral view, and the patient's sex and age."""

    folder: str
    patient: int
    lateral: bool
    sex: str
    age: int
    ap_pa: str

    @property
    def frontal_id(self) -> str:
        """The frontal view's image id (``patient64541_study1_view1_frontal``)."""
        return self.folder.replace("/", "_") + "_view1_frontal"

    @property
    def lateral_id(self) -> str:
        return self.folder.replace("/", "_") + "_view2_lateral"


def plan_studies(
    n_images: int, seed: int, lateral_rate: float, multi_image_patient_rate: float
) -> list[Study]:
    """The study of each planned image: patients from 64541 (about
    ``multi_image_patient_rate`` of the images belong to a patient with two studies, numbered
    in image order), ``round(n_images * lateral_rate)`` studies with a lateral view."""
    rng = np.random.default_rng([seed, _STREAM, 2])
    owner, n_patients = dw.patient_owners(rng, n_images, multi_image_patient_rate)
    lateral = np.zeros(n_images, dtype=bool)
    lateral[rng.choice(n_images, dw.split_count(n_images, lateral_rate), replace=False)] = True
    sexes = np.where(rng.random(n_patients) < 0.55, "Male", "Female")
    ages = np.clip(rng.normal(60, 17, n_patients), 18, 90).astype(int)
    ap_pa = np.where(rng.random(n_images) < 0.75, "AP", "PA")
    number: dict[int, int] = {}  # patients numbered in order of their first image
    studies: dict[int, int] = {}
    out = []
    for i in range(n_images):
        p = int(owner[i])
        number.setdefault(p, FIRST_PATIENT + len(number))
        studies[p] = studies.get(p, 0) + 1
        out.append(
            Study(
                folder=f"patient{number[p]}/study{studies[p]}",
                patient=number[p],
                lateral=bool(lateral[i]),
                sex=str(sexes[p]),
                age=int(ages[p]),
                ap_pa=str(ap_pa[i]),
            )
        )
    return out


def _label_row(path: str, sex: str, age: int, view: str, ap_pa: str, kinds) -> str:
    positive = {NAMES[k][0] for k in kinds}
    labels = {c: "1.0" if c in positive else "0.0" for c in LABEL_COLUMNS}
    labels["No Finding"] = "0.0" if positive else "1.0"
    return ",".join([CSV_PREFIX + path, sex, str(age), view, ap_pa, *labels.values()])


@dw.plans(findings_images)
def write_chexlocalize(
    root: str | os.PathLike,
    *,
    lateral_rate: float = 0.1,
    multi_image_patient_rate: float = 0.2,
    **plan,
) -> dict:
    """Write a synthetic CheXlocalize-format dataset to ``root`` (replaced atomically).

    ``plan``: the keywords of :func:`~.findings.findings_images` (``n_images`` frontal
    images, ``positive_rate`` per finding, ``seed``, ``size``: rows of each image,
    ``shortcut_rate``, ``findings``). Returns a summary: ``n_images`` (frontal), ``n_lateral``,
    ``n_patients``, ``n_no_finding``, ``n_<finding>`` per planted finding, ``n_shortcut``,
    ``seconds``.
    """
    kinds, images = findings_images(_STREAM, **plan)
    lateral_rate = dw.check_rate("lateral_rate", lateral_rate)
    multi_rate = dw.check_rate("multi_image_patient_rate", multi_image_patient_rate)
    seed, size, n = plan["seed"], plan.get("size", 1024), len(kinds)
    cols, _ = padded_columns(size)

    studies = plan_studies(n, seed, lateral_rate, multi_rate)
    n_patients = len({s.patient for s in studies})

    empty = encode_segmentation(np.zeros((size, cols), dtype=np.uint8))
    rows: list[str] = []
    segmentations: dict[str, dict] = {}
    annotations: dict[str, dict] = {}
    human: dict[str, dict] = {}
    grow = max(1, size // 50)
    summary = {"format": "chexlocalize", "n_images": 0, "n_lateral": 0, "n_patients": n_patients}
    summary.update({f"n_{kind}": 0 for kind in NAMES}, n_no_finding=0, n_shortcut=0)
    progress = dw.Progress("chexlocalize", n)
    with dw.atomic_directory(root) as tmp:
        for image in images:
            i, study = image.index, studies[image.index]
            folder, sex, age = study.folder, study.sex, study.age
            write_jpeg(Path(tmp) / IMAGES / folder / "view1_frontal.jpg", pad(image.phantom.image))
            rows.append(
                _label_row(
                    f"{folder}/view1_frontal.jpg", sex, age, "Frontal", study.ap_pa, image.kinds
                )
            )
            if study.lateral:
                side = draw_phantom(np.random.default_rng([seed, _STREAM, 3, i]), size, lesions=())
                write_jpeg(Path(tmp) / IMAGES / folder / "view2_lateral.jpg", pad(side.image))
                rows.append(
                    _label_row(f"{folder}/view2_lateral.jpg", sex, age, "Lateral", "", image.kinds)
                )
                summary["n_lateral"] += 1
            if image.kinds:
                image_id = study.frontal_id
                masks = {NAMES[k][1]: [pad(m) for m in image.instances(k)] for k in image.kinds}
                segmentations[image_id] = {
                    task: encode_segmentation(np.bitwise_or.reduce(masks[task]))
                    if task in masks
                    else empty
                    for task in LOCALIZATION_TASKS
                }
                human[image_id] = {
                    task: encode_segmentation(_grown(np.bitwise_or.reduce(masks[task]), grow))
                    if task in masks
                    else empty
                    for task in LOCALIZATION_TASKS
                }
                annotations[image_id] = {"img_size": [size, cols]}
                for task in LOCALIZATION_TASKS:
                    if task in masks:
                        annotations[image_id][task] = [
                            polygon for m in masks[task] for polygon in instance_polygon(m)
                        ]
            for k in image.kinds:
                summary[f"n_{k}"] += 1
            summary["n_no_finding"] += not image.kinds
            summary["n_shortcut"] += image.shortcut
            summary["n_images"] += 1
            progress.update(summary["n_images"])
        rows.sort(key=lambda r: r.split(",", 1)[0])
        write_text(Path(tmp) / LABELS, "\n".join([",".join(HEADER), *rows]) + "\n")
        for name, data in (
            (SEGMENTATIONS, segmentations),
            (ANNOTATIONS, annotations),
            (HUMAN_BENCHMARK, human),
        ):
            write_text(Path(tmp) / name, json.dumps({k: data[k] for k in sorted(data)}))
    summary["seconds"] = round(progress.seconds, 3)
    return summary
