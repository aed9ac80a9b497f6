"""SIIM-ACR Pneumothorax Segmentation: DICOMs and run-length encoded masks.

Layout (the Kaggle download, read unmodified)::

    root/dicom-images-train/<StudyInstanceUID>/<SeriesInstanceUID>/<ImageId>.dcm
    root/train-rle.csv   # "ImageId, EncodedPixels" (stage 2: "ImageId,EncodedPixels")

One row per region (OR-ed), ``-1`` for an image without pneumothorax; the RLE is column-major
over the image, its starts relative (stage 1) or absolute (option ``rle_mode``). The
image-level label is "any region present".
"""

from __future__ import annotations

import logging
from pathlib import Path

from .. import rle as rle_mod
from ..errors import AnnotationError
from .base import (
    DatasetFormat,
    Record,
    lazy_writer,
    locate_images,
    read_dicom_image,
    read_label_csv,
)
from .regions import RleRegion

log = logging.getLogger(__name__)


def read_siim(
    images_dir: Path,
    labels_csv: Path,
    rle_mode: str = "relative",
    *,
    root: Path | None = None,
    missing_images: str = "error",
) -> list[Record]:
    """Read a SIIM-ACR layout; image-level label = any region present. Images not in
    ``images_dir`` are looked for under ``root`` (:func:`~.base.locate_images`)."""
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    frame = read_label_csv(labels_csv, ["ImageId", "EncodedPixels"])
    files, skipped = locate_images(
        frame["ImageId"],
        images_dir,
        "**/*.dcm",
        root=root,
        source=labels_csv,
        missing_images=missing_images,
    )
    records: dict[str, Record] = {}
    negatives_at: dict[str, int] = {}
    for i, (image_id, encoded) in enumerate(
        zip(frame["ImageId"], frame["EncodedPixels"], strict=True)
    ):
        line = i + 2
        image_id = image_id.strip()
        if not image_id:
            raise AnnotationError(labels_csv, line, "empty ImageId")
        if image_id in skipped:
            continue
        path = files[image_id]
        rec = records.setdefault(image_id, Record(image_id, path, 0, source=str(labels_csv)))
        if rle_mod.is_empty(encoded):
            if rec.regions:
                raise AnnotationError(
                    labels_csv,
                    line,
                    f"image {image_id!r} is marked -1 (no pneumothorax) but row "
                    f"{rec.regions[0].line} gives it a region: conflicting labels",
                )
            negatives_at[image_id] = line
        else:
            if image_id in negatives_at:
                raise AnnotationError(
                    labels_csv,
                    line,
                    f"image {image_id!r} has a region but row "
                    f"{negatives_at[image_id]} marks it -1 (no pneumothorax): conflicting labels",
                )
            rec.regions.append(RleRegion(encoded, rle_mode, str(labels_csv), line))
            rec.label = 1
    unlabeled = len(set(files) - set(records))
    if unlabeled:
        log.warning(
            "%d DICOM files under %s have no row in %s; skipped", unlabeled, images_dir, labels_csv
        )
    return [records[k] for k in sorted(records)]


def _read(root: Path, layout: dict, options: dict) -> list[Record]:
    return read_siim(
        root / layout["images"],
        root / layout["labels"],
        options["rle_mode"],
        root=root,
        missing_images=options["missing_images"],
    )


FORMAT = DatasetFormat(
    name="siim",
    finding="Pneumothorax",
    description="SIIM-ACR pneumothorax: DICOMs, train-rle.csv (run-length encoded masks)",
    layout={"images": "dicom-images-train", "labels": "train-rle.csv"},
    read=_read,
    load_image=read_dicom_image,
    synthesize=lazy_writer("synth.siim", "write_siim"),
    options={"rle_mode": "relative", "missing_images": "error"},
)
