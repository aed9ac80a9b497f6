"""VinDr-CXR (PhysioNet v1.0.0): DICOMs and the boxes of several radiologists per image.

Layout (the PhysioNet download, read unmodified)::

    root/train/<image_id>.dicom                 # image_id: 32 hex digits; note ``.dicom``
    root/annotations/annotations_train.csv      # image_id,rad_id,class_name,x_min,y_min,x_max,y_max
    root/annotations/image_labels_train.csv     # image-level labels per reader (not read)

Each training image was read by 3 radiologists (``rad_id`` R1..R17). The CSV has one row per
box per reader; a reader who saw nothing writes one ``<image_id>,R9,No finding,,,,`` row
(empty coordinates). Coordinates are the box corners in original pixels (``691.0``). The
DICOMs are often MONOCHROME1 and 12 to 16 bit; the DICOM reader inverts and windows them.

The ``target`` option (default ``Pneumothorax``) picks one of :data:`FINDINGS`; the option
``readers`` says how the readers of an image (the distinct ``rad_id`` of its rows) combine:

* ``majority`` (default): positive when more than half of the image's readers boxed the
  target; the ground truth is the pixels inside the boxes of more than half of its readers
  (``Record.box_votes = n_readers // 2 + 1``; a positive whose vote leaves no pixel is
  skipped by the conversion);
* ``union``: positive when any reader boxed the target; ground truth = every reader's boxes;
* a reader id such as ``R8``: only that reader's rows; images it did not read are left out.

``negatives: normal`` keeps as negatives only the images that every counted reader marked
``No finding``. The files carry no usable patient id (de-identified: empty PatientID), so
each image is its own patient: splits are per image unless the dataset gives a ``split_csv``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AnnotationError, InputError
from .base import (
    NEGATIVES,
    Box,
    DatasetFormat,
    Record,
    check_target,
    lazy_writer,
    locate_images,
    log_selection,
    parse_float,
    read_dicom_image,
    read_label_csv,
    target_label,
)

log = logging.getLogger(__name__)

COLUMNS = ["image_id", "rad_id", "class_name", "x_min", "y_min", "x_max", "y_max"]
NO_FINDING = "No finding"
#: the local findings a reader can box (the ``target`` option picks one). "Pulmonary
#: fibrosis" is one of VinDr-CXR's 22 local labels (and of the Kaggle subset's 14 classes).
FINDINGS = (
    "Aortic enlargement",
    "Atelectasis",
    "Calcification",
    "Cardiomegaly",
    "Clavicle fracture",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Enlarged PA",
    "ILD",
    "Infiltration",
    "Lung Opacity",
    "Lung cavity",
    "Lung cyst",
    "Mediastinal shift",
    "Nodule/Mass",
    "Other lesion",
    "Pleural effusion",
    "Pleural thickening",
    "Pneumothorax",
    "Pulmonary fibrosis",
    "Rib fracture",
)
CLASS_NAMES = (*FINDINGS, NO_FINDING)
#: the ways of combining readers besides a single reader's id (option ``readers``)
COMBINE = ("majority", "union")


@dataclass
class _Reading:
    """One reader's rows for one image: "No finding" (its row) or findings and target boxes."""

    normal_line: int | None = None
    findings: dict[str, int] = field(default_factory=dict)  # class -> first row
    boxes: list[Box] = field(default_factory=list)  # of the target


def _reader_key(rad_id: str):
    """R2 before R10: by the number in the id, then the id."""
    number = re.search(r"\d+", rad_id)
    return (int(number.group()) if number else -1, rad_id)


def _parse_rows(frame, labels_csv: Path, target: str) -> dict[str, dict[str, _Reading]]:
    """image id -> reader id -> what it read; every row checked (errors name the row)."""
    images: dict[str, dict[str, _Reading]] = {}
    known = ", ".join(map(repr, CLASS_NAMES))
    for i, row in enumerate(frame.itertuples(index=False)):
        line = i + 2
        image_id, rad_id, name = row.image_id.strip(), row.rad_id.strip(), row.class_name.strip()
        if not image_id:
            raise AnnotationError(labels_csv, line, "empty image_id")
        if not rad_id:
            raise AnnotationError(labels_csv, line, f"image {image_id!r}: empty rad_id")
        if name not in CLASS_NAMES:
            raise AnnotationError(
                labels_csv, line, f"unknown class_name {row.class_name!r} (known: {known})"
            )
        corners = [getattr(row, c).strip() for c in COLUMNS[3:]]
        reading = images.setdefault(image_id, {}).setdefault(rad_id, _Reading())
        if name == NO_FINDING:
            if any(corners):
                raise AnnotationError(
                    labels_csv,
                    line,
                    f"a {NO_FINDING!r} row has coordinates "
                    f"({','.join(corners)}); expected x_min..y_max empty",
                )
            if reading.findings:
                first, at = next(iter(reading.findings.items()))
                raise AnnotationError(
                    labels_csv,
                    line,
                    f"reader {rad_id} marks image {image_id!r} {NO_FINDING!r} but row {at} "
                    f"gives it {first!r}: conflicting labels",
                )
            reading.normal_line = reading.normal_line or line
            continue
        if reading.normal_line is not None:
            raise AnnotationError(
                labels_csv,
                line,
                f"reader {rad_id} gives image {image_id!r} {name!r} but row "
                f"{reading.normal_line} marks it {NO_FINDING!r}: conflicting labels",
            )
        missing = [c for c, v in zip(COLUMNS[3:], corners, strict=True) if not v]
        if missing:
            raise AnnotationError(
                labels_csv, line, f"a {name!r} box without coordinates ({', '.join(missing)} empty)"
            )
        x0, y0, x1, y1 = (
            parse_float(v, c, labels_csv, line) for c, v in zip(COLUMNS[3:], corners, strict=True)
        )
        if min(x0, y0, x1, y1) < 0:
            raise AnnotationError(
                labels_csv,
                line,
                f"negative coordinates x_min={x0}, y_min={y0}, x_max={x1}, y_max={y1}",
            )
        if x1 <= x0 or y1 <= y0:
            raise AnnotationError(
                labels_csv,
                line,
                f"box corners not increasing: x_min={x0}, x_max={x1}, y_min={y0}, y_max={y1} "
                "(expected x_max > x_min and y_max > y_min)",
            )
        reading.findings.setdefault(name, line)
        if name == target:
            reading.boxes.append(Box(x0, y0, x1 - x0, y1 - y0, line, reader=rad_id))
    return images


def read_vindr(
    images_dir: Path,
    labels_csv: Path,
    *,
    target: str = "Pneumothorax",
    negatives: str = "absent",
    readers: str = "majority",
    root: Path | None = None,
    missing_images: str = "error",
) -> list[Record]:
    """Read a VinDr-CXR layout for ``target``, the readers combined as ``readers`` says (see
    the module docstring). Images not in ``images_dir`` are looked for under ``root``
    (:func:`~.base.locate_images`)."""
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    if negatives not in NEGATIVES:
        raise InputError(f"option negatives: {negatives!r} is not one of {NEGATIVES}")
    frame = read_label_csv(labels_csv, COLUMNS)
    target = check_target("vindr", target, FINDINGS, labels_csv)
    images = _parse_rows(frame, labels_csv, target)
    readers = str(readers).strip()
    if readers not in COMBINE:
        seen = sorted({r for image in images.values() for r in image}, key=_reader_key)
        if readers not in seen:
            raise InputError(
                f"option readers (datasets.<name>.options.readers): {readers!r} is neither "
                f"{' nor '.join(map(repr, COMBINE))} nor a reader id of {labels_csv} "
                f"(ids seen: {', '.join(seen) or 'none'})"
            )
        unread = sum(readers not in image for image in images.values())
        log.info(
            "%s: readers %s: %d of %d images read by %s kept, %d not read by %s left out",
            labels_csv,
            readers,
            len(images) - unread,
            len(images),
            readers,
            unread,
            readers,
        )

    labels: dict[str, tuple[int, list[Box], int]] = {}  # id -> (label, boxes, box_votes)
    counts = {"positives": 0, "negatives": 0, "left out (other findings)": 0}
    disputed = 0
    for image_id, readings in images.items():
        if readers in COMBINE:
            counted = list(readings.values())
        elif readers in readings:
            counted = [readings[readers]]
        else:
            continue
        n = len(counted)
        saw = [r for r in counted if target in r.findings]
        votes = n // 2 + 1 if readers == "majority" else 1
        has_target = len(saw) >= votes
        normal = all(r.normal_line is not None for r in counted)
        label = target_label(has_target, normal, negatives)
        if label is None:
            counts["left out (other findings)"] += 1
            continue
        counts["positives" if label else "negatives"] += 1
        disputed += bool(saw) and not label
        boxes = [b for r in saw for b in r.boxes] if label else []
        labels[image_id] = (label, boxes, votes if label else 1)
    if negatives == "absent":
        del counts["left out (other findings)"]
    if disputed:
        counts["negatives boxed by a minority of their readers"] = disputed
    log_selection(labels_csv, target, negatives, counts)

    files, skipped = locate_images(
        frame["image_id"],
        images_dir,
        "*.dicom",
        root=root,
        source=labels_csv,
        missing_images=missing_images,
        keep=set(labels),
        file_kind="DICOM",
    )
    records = [
        Record(image_id, files[image_id], label, boxes=boxes, source=str(labels_csv), box_votes=v)
        for image_id, (label, boxes, v) in sorted(labels.items())
        if image_id not in skipped
    ]
    # no patient ids: the conversion warns that each image is its own patient in the split
    return records


def _read(root: Path, layout: dict, options: dict) -> list[Record]:
    return read_vindr(
        root / layout["images"],
        root / layout["labels"],
        target=options["target"],
        negatives=options["negatives"],
        readers=options["readers"],
        root=root,
        missing_images=options["missing_images"],
    )


FORMAT = DatasetFormat(
    name="vindr",
    description="VinDr-CXR: DICOMs (.dicom), annotations_train.csv (boxes of 3 readers each)",
    layout={"images": "train", "labels": "annotations/annotations_train.csv"},
    read=_read,
    load_image=read_dicom_image,
    synthesize=lazy_writer("synth.vindr", "write_vindr"),
    options={
        "target": "Pneumothorax",
        "negatives": "absent",
        "readers": "majority",
        "missing_images": "error",
    },
    optional=frozenset(),
    folders=frozenset({"images"}),
    targets=FINDINGS,
    task="detection",
)
