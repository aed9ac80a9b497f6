"""A researcher's own folder: images, a label CSV and either mask images or a box CSV.

Layout (the defaults; every key can be changed in the config)::

    root/images/<any/sub/path>/<name>.png|.jpg|.jpeg|.tif|.dcm|.dicom   # any mix
    root/labels.csv    # image[,patient],<finding>,<finding>,...  (one row per image)
    root/masks/<same/sub/path>/<name>.png    # optional: nonzero = lesion, the image's size
    root/boxes.csv     # optional: image[,finding],x,y,width,height (or x_min,y_min,x_max,y_max)

``labels.csv``: column ``image`` (option ``image_column``) holds the file's path relative to
the image folder, with its extension; the image id is that path without the suffix (e.g.
``p001/img1``), unique. Optional column ``patient`` (option ``patient_column``) gives the
patient for patient-level splits; without it each image is its own patient (a DICOM's
PatientID is used where the file has one). Every other column is one finding, valued
``0``/``1`` (also ``0.0``/``1.0``, ``true``/``false``, any case); a single-finding dataset
may call its column ``label``. Spaces around column names are ignored. Images are 8- or
16-bit PNGs (colour becomes gray), JPEGs, TIFFs or DICOMs (by suffix).

Ground truth comes from exactly one of:

* ``masks``: a folder of PNG masks at the image's path with the suffix replaced by ``.png``;
  ``{target}`` in the layout value is replaced by the target finding (``masks:
  masks/{target}``). A positive without a mask file has no ground truth (left out, logged);
  mask files of unlabelled images are ignored (counted in the log).
* ``boxes``: a CSV of boxes in original pixels, ``x,y,width,height`` (``x, y`` top-left;
  option ``box_format: xywh``) or ``x_min,y_min,x_max,y_max`` (``box_format: corners``),
  with column ``image`` as in ``labels.csv`` and an optional ``finding`` column (rows of
  other findings are ignored; without it every box belongs to the target).
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

from ..errors import AnnotationError, InputError
from .base import (
    MISSING_IMAGES,
    Box,
    DatasetFormat,
    Record,
    check_target,
    image_stem,
    lazy_writer,
    log_selection,
    parse_float,
    read_any_image,
    read_label_csv,
    report_missing,
    target_label,
)
from .regions import MaskFileRegion

log = logging.getLogger(__name__)

#: box columns by option ``box_format``
BOX_COLUMNS = {
    "xywh": ("x", "y", "width", "height"),
    "corners": ("x_min", "y_min", "x_max", "y_max"),
}
#: label values read as 1 and as 0 (after stripping and lower-casing)
TRUE, FALSE = ("1", "1.0", "true"), ("0", "0.0", "false")


def _flag(value: str, column: str, source: Path, line: int) -> int:
    text = value.strip().lower()
    if text in TRUE:
        return 1
    if text in FALSE:
        return 0
    raise AnnotationError(
        source, line, f"column {column!r}: {value!r} is not a label (0/1, 0.0/1.0, true/false)"
    )


def _relpath(text: str) -> str:
    """A CSV's image path, stripped, with ``/`` separators and no ``./`` parts."""
    return str(PurePosixPath(text.strip().replace("\\", "/")))


def _image_id(relpath: str) -> str:
    """The image id: the relative path without its suffix (``p001/img1.png`` -> ``p001/img1``)."""
    path = PurePosixPath(relpath)
    return image_stem(str(path)) if path.suffix else relpath


def _pick_target(target, findings: list[str], source: Path) -> str:
    if not findings:
        raise InputError(
            f"{source}: no finding column (every column besides the image and patient columns "
            "is a 0/1 finding; a single-finding dataset may call its column 'label')"
        )
    if target is None:
        if len(findings) > 1:
            raise InputError(
                f"{source} has {len(findings)} finding columns ({', '.join(map(repr, findings))}); "
                "set config key datasets.<name>.target to the one to audit"
            )
        return findings[0]
    return check_target("folder", target, findings, source)


def _read_boxes(
    boxes_csv: Path, target: str, box_format: str, images: dict[str, tuple[str, int]]
) -> tuple[dict[str, list[Box]], int, bool]:
    """The target's boxes per image id (``images``: relative path -> (id, labels.csv row)),
    the number of rows of other findings ignored, and whether the CSV has a finding column."""
    frame = read_label_csv(boxes_csv)
    frame.columns = [str(c).strip() for c in frame.columns]
    names = BOX_COLUMNS[box_format]
    missing = [c for c in ("image", *names) if c not in frame.columns]
    if missing:
        raise AnnotationError(
            boxes_csv,
            1,
            f"no column(s) {', '.join(missing)} in the header {','.join(frame.columns)!r} "
            f"(option box_format: {box_format!r} expects image,{','.join(names)}; "
            f"the other choice is {next(k for k in BOX_COLUMNS if k != box_format)!r})",
        )
    has_finding = "finding" in frame.columns
    out: dict[str, list[Box]] = {}
    others = 0
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2
        if not row["image"].strip():
            raise AnnotationError(boxes_csv, line, "empty image")
        relpath = _relpath(row["image"])
        if relpath not in images:
            raise AnnotationError(boxes_csv, line, f"image {relpath!r} has no row in the label CSV")
        if has_finding and row["finding"].strip() != target:
            others += 1
            continue
        a, b, c, d = (parse_float(row[n], n, boxes_csv, line) for n in names)
        if box_format == "corners":
            if c <= a or d <= b:
                raise AnnotationError(
                    boxes_csv,
                    line,
                    f"box corners ({a}, {b}) -> ({c}, {d}) do not increase "
                    "(x_max must exceed x_min, y_max must exceed y_min)",
                )
            x, y, w, h = a, b, c - a, d - b
        else:
            x, y, w, h = a, b, c, d
            if w <= 0 or h <= 0:
                raise AnnotationError(boxes_csv, line, f"box size {w} x {h} is not positive")
        if x < 0 or y < 0:
            raise AnnotationError(boxes_csv, line, f"box corner ({x}, {y}) is negative")
        out.setdefault(images[relpath][0], []).append(Box(x, y, w, h, line))
    return out, others, has_finding


def read_folder(
    images_dir: Path,
    labels_csv: Path,
    *,
    masks_dir: Path | None = None,
    boxes_csv: Path | None = None,
    target: str | None = None,
    negatives: str = "absent",
    box_format: str = "xywh",
    image_column: str = "image",
    patient_column: str = "patient",
    missing_images: str = "error",
) -> list[Record]:
    """Read a folder dataset with exactly one of ``masks_dir`` (``{target}`` in it is replaced
    by the target) and ``boxes_csv``; records sorted by image id, labelled for ``target``
    (default: the only finding column)."""
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    if box_format not in BOX_COLUMNS:
        raise InputError(f"option box_format: {box_format!r} is not one of {tuple(BOX_COLUMNS)}")
    if missing_images not in MISSING_IMAGES:
        raise InputError(
            f"option missing_images: {missing_images!r} is not one of {MISSING_IMAGES}"
        )
    if not images_dir.is_dir():
        raise InputError(f"{images_dir}: image folder not found (layout key images)")
    frame = read_label_csv(labels_csv)
    frame.columns = [str(c).strip() for c in frame.columns]
    if image_column not in frame.columns:
        raise AnnotationError(
            labels_csv,
            1,
            f"no column {image_column!r} in the header {','.join(frame.columns)!r} (the image "
            "paths; set the dataset's option image_column to the column that holds them)",
        )
    has_patient = patient_column in frame.columns
    findings = [c for c in frame.columns if c not in (image_column, patient_column)]
    target = _pick_target(target, findings, labels_csv)
    if masks_dir is not None:
        masks_dir = Path(str(masks_dir).replace("{target}", target))
        if not masks_dir.is_dir():
            raise InputError(f"{masks_dir}: mask folder not found (layout key masks)")
    if boxes_csv is not None and not Path(boxes_csv).is_file():
        raise InputError(f"{boxes_csv}: box CSV not found (layout key boxes)")

    rows: list[tuple[int, str, str, dict[str, int], str]] = []  # line, path, id, flags, patient
    by_path: dict[str, tuple[str, int]] = {}
    by_id: dict[str, int] = {}
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2
        if not row[image_column].strip():
            raise AnnotationError(labels_csv, line, f"empty {image_column}")
        relpath = _relpath(row[image_column])
        if relpath in by_path:
            raise AnnotationError(
                labels_csv, line, f"image {relpath!r} is also on row {by_path[relpath][1]}"
            )
        image_id = _image_id(relpath)
        if image_id in by_id:
            raise AnnotationError(
                labels_csv,
                line,
                f"image id {image_id!r} (the path without its suffix) is also that of row "
                f"{by_id[image_id]}; image ids must be unique",
            )
        flags = {f: _flag(row[f], f, labels_csv, line) for f in findings}
        patient = row[patient_column].strip() if has_patient else ""
        by_path[relpath], by_id[image_id] = (image_id, line), line
        rows.append((line, relpath, image_id, flags, patient))
    absent = [(p, line) for line, p, *_ in rows if not (images_dir / p).is_file()]
    report_missing(
        absent,
        len(rows),
        where=images_dir,
        source=labels_csv,
        missing_images=missing_images,
    )
    skipped = {p for p, _ in absent}
    if not has_patient:
        log.info(
            "%s: no column %r: each image is its own patient (a DICOM's PatientID where it "
            "has one; option patient_column names another column)",
            labels_csv,
            patient_column,
        )

    boxes: dict[str, list[Box]] = {}
    by_finding = True
    if boxes_csv is not None:
        boxes, others, by_finding = _read_boxes(Path(boxes_csv), target, box_format, by_path)
        if others:
            log.info("%s: %d box rows of findings other than %r ignored", boxes_csv, others, target)
    source = str(labels_csv if boxes_csv is None else boxes_csv)

    records: list[Record] = []
    counts = {"positives": 0, "negatives": 0, "left out (another finding, negatives: normal)": 0}
    no_patient = 0
    for line, relpath, image_id, flags, patient in rows:
        if relpath in skipped:
            continue
        label = target_label(bool(flags[target]), not any(flags.values()), negatives)
        if label is None:
            counts["left out (another finding, negatives: normal)"] += 1
            continue
        counts["positives" if label else "negatives"] += 1
        no_patient += has_patient and not patient
        rec = Record(
            image_id, images_dir / relpath, label, source=source, patient_id=patient or None
        )
        if image_id in boxes:
            if not label:
                hint = "" if by_finding else " (a column 'finding' can name each box's finding)"
                raise AnnotationError(
                    boxes_csv,
                    boxes[image_id][0].line,
                    f"a {target!r} box for image {relpath!r}, which {labels_csv} row {line} "
                    f"labels 0 for {target!r}: conflicting labels{hint}",
                )
            rec.boxes = boxes[image_id]
        if masks_dir is not None and label:
            mask = masks_dir / f"{image_stem(PurePosixPath(relpath))}.png"
            if mask.is_file():
                rec.regions.append(MaskFileRegion(mask, str(labels_csv), line))
        records.append(rec)
    if no_patient:
        log.info(
            "%s: %d rows with an empty %r: their own patient",
            labels_csv,
            no_patient,
            patient_column,
        )
    if masks_dir is not None:
        expected = {PurePosixPath(f"{image_stem(PurePosixPath(p))}.png") for p in by_path}
        stray = [
            m
            for m in masks_dir.rglob("*")
            if m.is_file() and PurePosixPath(m.relative_to(masks_dir).as_posix()) not in expected
        ]
        if stray:
            log.info(
                "%s: %d mask files of images without a row in %s ignored (e.g. %s)",
                masks_dir,
                len(stray),
                labels_csv,
                min(stray),
            )
    log_selection(labels_csv, target, negatives, counts)
    return sorted(records, key=lambda r: r.image_id)


def _read(root: Path, layout: dict, options: dict) -> list[Record]:
    masks, boxes = layout.get("masks"), layout.get("boxes")
    if masks is None and boxes is None:
        raise InputError(
            f"{root}: neither masks nor boxes: a folder dataset needs its ground truth as mask "
            "images (layout key masks, default masks/) or a box CSV (layout key boxes, default "
            "boxes.csv)"
        )
    if masks is not None and boxes is not None:
        raise InputError(
            f"{root}: both masks ({masks}) and boxes ({boxes}) are present; set one of the "
            "dataset's keys masks or boxes to null"
        )
    return read_folder(
        root / layout["images"],
        root / layout["labels"],
        masks_dir=None if masks is None else root / masks,
        boxes_csv=None if boxes is None else root / boxes,
        target=options["target"],
        negatives=options["negatives"],
        box_format=options["box_format"],
        image_column=options["image_column"],
        patient_column=options["patient_column"],
        missing_images=options["missing_images"],
    )


FORMAT = DatasetFormat(
    name="folder",
    description="your own folder: images (PNG/JPEG/TIFF/DICOM), labels.csv, masks/ or boxes.csv",
    layout={"images": "images", "labels": "labels.csv", "masks": "masks", "boxes": "boxes.csv"},
    read=_read,
    load_image=read_any_image,
    synthesize=lazy_writer("synth.folder", "write_folder"),
    options={
        "target": None,
        "negatives": "absent",
        "box_format": "xywh",
        "image_column": "image",
        "patient_column": "patient",
        "missing_images": "error",
    },
    optional=frozenset({"masks", "boxes"}),
    folders=frozenset({"images", "masks"}),
    targets=(),
)
