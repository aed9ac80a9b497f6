"""NIH ChestX-ray14: PNGs, image-level findings, and bounding boxes for a few images.

Layout (the Kaggle "NIH Chest X-rays" / NIH Box download, read unmodified)::

    root/images_001/images/00000001_000.png ... root/images_012/images/*.png
    root/Data_Entry_2017.csv   # one row per image: its findings, patient, view
    root/BBox_List_2017.csv    # one row per box: image, finding, x, y, w, h

``Data_Entry_2017.csv``'s header has bracketed names with commas in them and a trailing
comma (``Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View
Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],``); its first seven
columns are read by name, the rest ignored. ``Finding Labels`` are pipe-separated
(``Cardiomegaly|Effusion``), ``No Finding`` when none. ``BBox_List_2017.csv``'s header is
``Image Index,Finding Label,Bbox [x,y,w,h],,,`` (rows have three empty trailing fields);
``x, y`` is the top-left corner, ``w, h`` the size, in original pixels. The box list calls
``Infiltration`` ``Infiltrate``: both are read as ``Infiltration``.

Images are found anywhere under the root (``images``: ``.``, pattern ``**/*.png``), so the
twelve ``images_0NN/images`` folders need no merging; a few real PNGs are RGBA, read as gray
by :func:`~saliency_audit.raster.read_image`. The label is the ``target`` finding (option,
default ``Pneumothorax``); the negatives are every image without it, or with ``negatives:
normal`` only the ``No Finding`` images. The patient id is the ``Patient ID`` column (for
patient-level splits). A positive's ground truth is its boxes of the target finding: only
~1k of the 112k images have boxes, and positives without one are left to
:func:`~saliency_audit.formats.read_dataset`, which drops them and logs how many.
"""

from __future__ import annotations

import csv
import logging
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
    read_raster_image,
    target_label,
)

log = logging.getLogger(__name__)

#: the 14 findings of ChestX-ray14 (Data_Entry_2017.csv's names)
FINDINGS = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
)
NO_FINDING = "No Finding"
#: other spellings of a finding: the box list says ``Infiltrate``
ALIASES = {"Infiltrate": "Infiltration"}
#: the first columns of Data_Entry_2017.csv, read by name (later columns are ignored)
ENTRY_COLUMNS = [
    "Image Index",
    "Finding Labels",
    "Follow-up #",
    "Patient ID",
    "Patient Age",
    "Patient Gender",
    "View Position",
]
#: the first columns of BBox_List_2017.csv (``Bbox [x,y,w,h]`` is split by its commas)
BOX_COLUMNS = ["Image Index", "Finding Label", "Bbox [x", "y", "w", "h]"]


def _finding(name: str) -> str:
    name = name.strip()
    return ALIASES.get(name, name)


def _image_id(name: str) -> str:
    name = name.strip()
    return name[:-4] if name.lower().endswith(".png") else name


def _read_rows(path: Path, expected: list[str]) -> list[tuple[int, list[str]]]:
    """The data rows of a CSV as ``(line, fields)``, blank lines left out; its header's first
    fields must be ``expected`` (spaces around names ignored), later ones are ignored, and
    each row must have at least as many fields."""
    if not path.is_file():
        raise InputError(f"{path}: label CSV not found")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = [
                (reader.line_num, fields) for fields in reader if any(f.strip() for f in fields)
            ]
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse as CSV ({exc})") from None
    if header is None:
        raise InputError(f"{path}: the label CSV is empty (not even a header)")
    found = [name.strip() for name in header[: len(expected)]]
    if found != expected:
        raise InputError(
            f"{path}: header {','.join(header)!r} does not start with the expected columns "
            f"{','.join(expected)!r}"
        )
    for line, fields in rows:
        if len(fields) < len(expected):
            raise AnnotationError(
                path,
                line,
                f"{len(fields)} fields; expected at least the {len(expected)} of "
                f"{','.join(expected)!r}",
            )
    return rows


def _known() -> str:
    return ", ".join(map(repr, (*FINDINGS, NO_FINDING)))


def read_nih(
    images_dir: Path,
    labels_csv: Path,
    boxes_csv: Path,
    target: str = "Pneumothorax",
    negatives: str = "absent",
    *,
    root: Path | None = None,
    missing_images: str = "error",
) -> list[Record]:
    """Read an NIH ChestX-ray14 layout for the ``target`` finding (see the module docstring).
    PNGs are looked for under ``images_dir`` with ``**/*.png``, then under ``root``."""
    images_dir, labels_csv, boxes_csv = Path(images_dir), Path(labels_csv), Path(boxes_csv)
    target = check_target("nih", _finding(str(target)), FINDINGS, labels_csv)
    if negatives not in NEGATIVES:
        raise InputError(f"option negatives: {negatives!r} is not one of {NEGATIVES}")
    entries: dict[str, tuple[int, set[str], str]] = {}  # id -> (line, findings, patient)
    ids: list[str] = []  # the id column by line (from line 2), for locate_images
    for line, fields in _read_rows(labels_csv, ENTRY_COLUMNS):
        image_id = _image_id(fields[0])
        if not image_id:
            raise AnnotationError(labels_csv, line, "empty Image Index")
        if image_id in entries:
            raise AnnotationError(
                labels_csv,
                line,
                f"image {fields[0].strip()!r} is listed again (first at row "
                f"{entries[image_id][0]})",
            )
        text = fields[1].strip()
        if not text:
            raise AnnotationError(
                labels_csv, line, f"empty Finding Labels (expected {NO_FINDING!r} if none)"
            )
        names = {_finding(n) for n in text.split("|")}
        unknown = sorted(names - {*FINDINGS, NO_FINDING})
        if unknown:
            raise AnnotationError(
                labels_csv,
                line,
                f"unknown finding(s) {', '.join(map(repr, unknown))} in Finding Labels "
                f"{text!r}; known: {_known()}",
            )
        if NO_FINDING in names and len(names) > 1:
            raise AnnotationError(
                labels_csv, line, f"Finding Labels {text!r} has {NO_FINDING!r} and findings"
            )
        entries[image_id] = (line, names - {NO_FINDING}, fields[3].strip())
        ids.extend([""] * (line - 2 - len(ids)))  # blank lines
        ids.append(image_id)

    boxes: dict[str, list[Box]] = {}
    n_box_rows = 0
    conflicts: list[str] = []  # boxes of other findings than the image's labels
    for line, fields in _read_rows(boxes_csv, BOX_COLUMNS):
        image_id, finding = _image_id(fields[0]), _finding(fields[1])
        if image_id not in entries:
            raise AnnotationError(
                boxes_csv, line, f"image {fields[0].strip()!r} is not in {labels_csv.name}"
            )
        if finding not in FINDINGS:
            raise AnnotationError(
                boxes_csv,
                line,
                f"unknown Finding Label {fields[1].strip()!r}; known: "
                f"{', '.join(map(repr, FINDINGS))} ('Infiltrate' = 'Infiltration')",
            )
        entry_line, names, _ = entries[image_id]
        if finding not in names:
            why = (
                f"a {fields[1].strip()!r} box for image {fields[0].strip()!r}, which "
                f"{labels_csv.name} row {entry_line} does not label with {finding!r} "
                f"({'|'.join(sorted(names)) or NO_FINDING})"
            )
            if finding == target:  # a negative with a lesion box: the labels contradict
                raise AnnotationError(boxes_csv, line, f"{why}: conflicting labels")
            # another finding's box: it plays no part, but the two files disagree
            conflicts.append(f"row {line}: {why}")
            continue
        x, y, w, h = (
            parse_float(value, name, boxes_csv, line)
            for value, name in zip(fields[2:6], ("x", "y", "w", "h"), strict=True)
        )
        if x < 0 or y < 0:
            raise AnnotationError(boxes_csv, line, f"box corner ({x}, {y}) is negative")
        if w <= 0 or h <= 0:
            raise AnnotationError(boxes_csv, line, f"box size {w} x {h} is not positive")
        n_box_rows += 1
        if finding == target:
            boxes.setdefault(image_id, []).append(Box(x, y, w, h, line))

    if conflicts:
        log.warning(
            "%s: %d box(es) of findings that %s does not give their image, ignored (not the "
            "target %r), e.g. %s",
            boxes_csv,
            len(conflicts),
            labels_csv.name,
            target,
            conflicts[0],
        )
    labels: dict[str, int] = {}
    left_out = 0
    for image_id, (_, names, _) in entries.items():
        label = target_label(target in names, not names, negatives)
        if label is None:
            left_out += 1
        else:
            labels[image_id] = label
    files, skipped = locate_images(
        ids,
        images_dir,
        "**/*.png",
        root=root,
        source=labels_csv,
        missing_images=missing_images,
        keep=set(labels),
        file_kind="PNG",
    )
    records = [
        Record(
            image_id,
            files[image_id],
            label,
            boxes=boxes.get(image_id, []) if label else [],
            source=str(boxes_csv),
            patient_id=entries[image_id][2] or None,
        )
        for image_id, label in sorted(labels.items())
        if image_id not in skipped
    ]
    counts = {
        "positives": sum(r.label for r in records),
        "negatives": sum(not r.label for r in records),
    }
    if negatives == "normal":
        counts["left out (another finding, negatives: normal)"] = left_out
    if skipped:
        counts["skipped (no PNG, missing_images: skip)"] = len(skipped)
    log_selection(labels_csv, target, negatives, counts)
    log.info(
        "%s: %d of %d %s positives have a box (%d box rows in all)",
        boxes_csv,
        sum(1 for r in records if r.label and r.boxes),
        counts["positives"],
        target,
        n_box_rows,
    )
    return records


def _read(root: Path, layout: dict, options: dict) -> list[Record]:
    return read_nih(
        root / layout["images"],
        root / layout["labels"],
        root / layout["boxes"],
        options["target"],
        options["negatives"],
        root=root,
        missing_images=options["missing_images"],
    )


FORMAT = DatasetFormat(
    name="nih",
    description="NIH ChestX-ray14: PNGs, Data_Entry_2017.csv (findings), BBox_List_2017.csv",
    layout={"images": ".", "labels": "Data_Entry_2017.csv", "boxes": "BBox_List_2017.csv"},
    read=_read,
    load_image=read_raster_image,
    synthesize=lazy_writer("synth.nih", "write_nih"),
    options={"target": "Pneumothorax", "negatives": "absent", "missing_images": "error"},
    folders=frozenset({"images"}),
    targets=FINDINGS,
    task="detection",
)
