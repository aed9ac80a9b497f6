"""CheXlocalize: CheXpert validation JPEGs with radiologists' segmentations of 10 findings.

Layout (the Stanford AIMI download, read unmodified)::

    root/CheXpert/val/patient64541/study1/view1_frontal.jpg   # 8-bit grayscale, not square
    root/CheXpert/val/patient64541/study1/view2_lateral.jpg   # lateral views (left out)
    root/CheXpert/val_labels.csv
        # Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,
        # Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,
        # Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices
        # Path: CheXpert-v1.0/valid/patient64541/study1/view1_frontal.jpg; labels 1.0 / 0.0
        # (CheXpert train also has -1.0, uncertain, and empty fields)
    root/CheXlocalize/gt_segmentations_val.json
        # {image id: {finding: {"size": [h, w], "counts": "<COCO compressed RLE>"}}}: the
        # images with a positive label, all 10 findings (all-zero masks for absent ones)
    root/CheXlocalize/gt_annotations_val.json
        # {image id: {"img_size": [h, w], finding: [[[x, y], ...], ...]}}: polygons of the
        # positive findings only

The image id is ``patient64541_study1_view1_frontal``; the CSV's ``CheXpert-v1.0/valid/``
prefix is not the image folder, so a row's file is the last three parts of its Path
(``patient*/study*/view*.jpg``) under the ``images`` folder. The JSONs call "Airspace
Opacity" what the CSV calls "Lung Opacity" (one finding: the target may be given as either
and is reported under the CSV name). The patient folder is the patient id.

Options: ``target`` (one of the 10 localised findings, default Pneumothorax), ``negatives``
(absent | normal: "No Finding" is 1), ``ground_truth`` (segmentations | annotations: the
polygons filled as cheXlocalize's ``annotation_to_segmentation.py`` does), ``uncertain``
(what a -1 or empty target label is: exclude | positive | negative) and ``views`` (frontal |
all).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from ..errors import AnnotationError, InputError
from .base import (
    DatasetFormat,
    Record,
    check_target,
    lazy_writer,
    log_selection,
    read_label_csv,
    read_raster_image,
    report_missing,
    target_label,
)
from .regions import CocoRleRegion, PolygonRegion

log = logging.getLogger(__name__)

#: the localised findings, as the CSV names them (eval_constants.LOCALIZATION_TASKS order)
TARGETS = (
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Lesion",
    "Lung Opacity",
    "Edema",
    "Consolidation",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Support Devices",
)
#: CSV name -> the JSONs' name, where they differ
JSON_NAMES = {"Lung Opacity": "Airspace Opacity"}
CSV_NAMES = {v: k for k, v in JSON_NAMES.items()}
#: the JSONs' 10 localised findings (cheXlocalize's eval_constants.LOCALIZATION_TASKS)
LOCALIZATION_TASKS = tuple(JSON_NAMES.get(name, name) for name in TARGETS)
#: the CheXpert label columns, in the CSV's order
LABEL_COLUMNS = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)
COLUMNS = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", *LABEL_COLUMNS)
#: label field text -> value (None: empty, "not mentioned")
LABEL_VALUES = {"1": 1, "1.0": 1, "0": 0, "0.0": 0, "-1": -1, "-1.0": -1, "": None}
GROUND_TRUTH = ("segmentations", "annotations")
UNCERTAIN = ("exclude", "positive", "negative")
VIEWS = ("frontal", "all")
_PATH = re.compile(r"(?:^|/)(patient[^/]*)/(study[^/]*)/(view[^/]*)\.jpg$")
LAYOUT = {
    "images": "CheXpert/val",
    "labels": "CheXpert/val_labels.csv",
    "segmentations": "CheXlocalize/gt_segmentations_val.json",
    "annotations": "CheXlocalize/gt_annotations_val.json",
}


def _choice(name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(
            f"config key datasets.<name>.options.{name}: {value!r} is not one of {allowed}"
        )
    return value


def _target(target) -> str:
    """The target under its CSV name ("Airspace Opacity" -> "Lung Opacity")."""
    return CSV_NAMES.get(target, target)


def image_id_of(path: str) -> tuple[str, str, str, str] | None:
    """``(image id, patient, study, file name)`` of a CSV Path ending in
    ``patient*/study*/view*.jpg``; ``None`` for any other Path."""
    match = _PATH.search(path.strip().replace("\\", "/"))
    if match is None:
        return None
    patient, study, view = match.groups()
    return f"{patient}_{study}_{view}", patient, study, f"{view}.jpg"


def _read_json(path: Path, key: str) -> dict:
    if not path.is_file():
        raise InputError(
            f"{path}: CheXlocalize JSON not found (config key datasets.<name>.{key}, default "
            f"{LAYOUT[key]})"
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an object {{image id: {{finding: ...}}}} at the top")
    return data


def _size(value, source: Path, where: str, what: str) -> tuple[int, int]:
    """A ``[h, w]`` pair of positive integers; :class:`AnnotationError` naming the key."""
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(float(v).is_integer() and v > 0 for v in value)
    )
    if not ok:
        raise AnnotationError(source, where, f"{what}={value!r}; expected [height, width]")
    return int(value[0]), int(value[1])


def _finding_name(name: str, source: Path, image_id: str) -> str:
    """The JSON key ``name`` as a CSV finding name; an error for an unknown key."""
    name = _target(name)
    if name not in TARGETS:
        known = ", ".join(repr(JSON_NAMES.get(t, t)) for t in TARGETS)
        raise AnnotationError(
            source, f"{image_id} / {name}", f"unknown finding (expected some of {known})"
        )
    return name


def coco_runs(counts: str) -> list[int]:
    """The run lengths (zeros first) of COCO compressed RLE text (pycocotools' ``rleFrString``:
    5 bits a character from ``"0"``, a continuation bit, a sign bit, runs after the second
    stored as the difference to the run two back); ``ValueError`` for corrupt text."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x, k, more = 0, 0, True
        while more:
            if p >= len(counts):
                raise ValueError("the text ends inside a run length")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {counts[p]!r} is not RLE text")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def _rle_empty(rle: dict, source: Path, where: str) -> bool:
    """Whether a COCO RLE covers no pixel, from its run lengths (checked against its size:
    nothing is decoded to pixels)."""
    counts = rle["counts"]
    try:
        runs = counts if isinstance(counts, list) else coco_runs(counts)
    except ValueError as exc:
        raise AnnotationError(source, where, f"cannot read the RLE counts ({exc})") from None
    rows, cols = _size(rle["size"], source, where, "size")
    if any(r < 0 for r in runs) or sum(runs) != rows * cols:
        raise AnnotationError(
            source,
            where,
            f"the RLE's runs cover {sum(runs)} pixels (or are negative) but its size is "
            f"{rows}x{cols} = {rows * cols}",
        )
    return not any(runs[1::2])


def segmentation_regions(path: Path, ids: set[str], target: str) -> dict[str, CocoRleRegion]:
    """The target's non-empty segmentation per image id of the segmentation JSON (every
    entry's shape is checked; every image id must be one of ``ids``)."""
    data = _read_json(path, "segmentations")
    _check_ids(data, ids, path)
    out = {}
    for image_id, entry in data.items():
        if not isinstance(entry, dict):
            raise AnnotationError(path, image_id, "expected an object {finding: RLE}")
        for name, rle in entry.items():
            where = f"{image_id} / {name}"
            finding = _finding_name(name, path, image_id)
            if not isinstance(rle, dict) or set(rle) != {"size", "counts"}:
                raise AnnotationError(path, where, "expected {'size': [h, w], 'counts': ...}")
            _size(rle["size"], path, where, "size")
            counts = rle["counts"]
            if not isinstance(counts, str) and not (
                isinstance(counts, list) and all(isinstance(c, int) for c in counts)
            ):
                raise AnnotationError(path, where, "counts is neither RLE text nor run lengths")
            if finding == target and not _rle_empty(rle, path, where):
                out[image_id] = CocoRleRegion(rle, source=str(path), line=where)
    return out


def annotation_regions(path: Path, ids: set[str], target: str) -> dict[str, PolygonRegion]:
    """The target's polygons per image id of the annotation JSON (every entry's shape is
    checked; every image id must be one of ``ids``; one- and two-point contours are drawn as
    cheXlocalize draws them, :class:`~.regions.PolygonRegion`)."""
    data = _read_json(path, "annotations")
    _check_ids(data, ids, path)
    out = {}
    for image_id, entry in data.items():
        if not isinstance(entry, dict):
            raise AnnotationError(path, image_id, "expected an object {finding: polygons}")
        if "img_size" not in entry:
            raise AnnotationError(path, image_id, "no img_size [h, w]")
        size = _size(entry["img_size"], path, f"{image_id} / img_size", "img_size")
        for name, polygons in entry.items():
            if name == "img_size":
                continue
            where = f"{image_id} / {name}"
            finding = _finding_name(name, path, image_id)
            if not isinstance(polygons, list) or not all(
                isinstance(polygon, list)
                and all(
                    isinstance(p, list | tuple)
                    and len(p) == 2
                    and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
                    for p in polygon
                )
                for polygon in polygons
            ):
                raise AnnotationError(path, where, "expected a list of contours of [x, y] points")
            if finding == target and polygons:
                out[image_id] = PolygonRegion(polygons, size=size, source=str(path), line=where)
    return out


def _check_ids(data: dict, ids: set[str], path: Path) -> None:
    unknown = [k for k in data if k not in ids]
    if unknown:
        listing = ", ".join(map(repr, unknown[:5]))
        listing += f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InputError(
            f"{path}: {len(unknown)} image id(s) not in the label CSV: {listing} (is it the "
            "JSON of the same split as the labels?)"
        )


def read_chexlocalize(
    images_dir: Path,
    labels_csv: Path,
    ground_truth_json: Path,
    *,
    target: str = "Pneumothorax",
    negatives: str = "absent",
    ground_truth: str = "segmentations",
    uncertain: str = "exclude",
    views: str = "frontal",
    missing_images: str = "error",
) -> list[Record]:
    """Read a CheXlocalize layout: one record per kept CSV row, labelled for ``target``,
    with its region from ``ground_truth_json`` (the segmentation or annotation JSON, as
    ``ground_truth`` says). Records are sorted by image id."""
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    ground_truth = _choice("ground_truth", ground_truth, GROUND_TRUTH)
    uncertain = _choice("uncertain", uncertain, UNCERTAIN)
    views = _choice("views", views, VIEWS)
    target = check_target("chexlocalize", _target(target), TARGETS, labels_csv)
    frame = read_label_csv(labels_csv)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.rename(columns=CSV_NAMES)
    missing = [c for c in ("Path", *LABEL_COLUMNS) if c not in frame.columns]
    if missing:
        raise InputError(
            f"{labels_csv}: no column(s) {', '.join(map(repr, missing))} in the header "
            f"{','.join(frame.columns)!r} (expected the CheXpert header {','.join(COLUMNS)!r})"
        )
    has_view = "Frontal/Lateral" in frame.columns

    rows = []  # (line, image id, file under images_dir, patient, labels, view)
    seen: dict[str, int] = {}
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2
        parsed = image_id_of(row["Path"])
        if parsed is None:
            raise AnnotationError(
                labels_csv,
                line,
                f"Path={row['Path']!r} does not end in patient*/study*/view*.jpg",
            )
        image_id, patient, study, name = parsed
        if image_id in seen:
            raise AnnotationError(
                labels_csv, line, f"image {image_id!r} is also row {seen[image_id]}"
            )
        seen[image_id] = line
        labels = {}
        for column in LABEL_COLUMNS:
            text = row[column].strip()
            if text not in LABEL_VALUES:
                raise AnnotationError(
                    labels_csv,
                    line,
                    f"{column}={row[column]!r}; expected 1.0, 0.0, -1.0 (uncertain) or empty",
                )
            labels[column] = LABEL_VALUES[text]
        if not has_view:  # a CSV without the column: the file name says it
            view = "Lateral" if name.endswith("_lateral.jpg") else "Frontal"
        else:
            view = row["Frontal/Lateral"].strip()
            if view not in ("Frontal", "Lateral"):
                raise AnnotationError(
                    labels_csv,
                    line,
                    f"Frontal/Lateral={row['Frontal/Lateral']!r}; expected Frontal or Lateral",
                )
        rows.append((line, image_id, f"{patient}/{study}/{name}", patient, labels, view))

    counts = {"positives": 0, "negatives": 0}
    kept = []  # (line, image id, relative file, patient, label)
    for line, image_id, rel, patient, labels, view in rows:
        if views == "frontal" and view == "Lateral":
            counts["left out (lateral view)"] = counts.get("left out (lateral view)", 0) + 1
            continue
        value = labels[target]
        if value in (-1, None):
            if uncertain == "exclude":
                why = "left out (uncertain or empty label; uncertain: exclude)"
                counts[why] = counts.get(why, 0) + 1
                continue
            value = 1 if uncertain == "positive" else 0
        label = target_label(value == 1, labels["No Finding"] == 1, negatives)
        if label is None:
            why = "left out (another finding; negatives: normal)"
            counts[why] = counts.get(why, 0) + 1
            continue
        counts["positives" if label else "negatives"] += 1
        kept.append((line, image_id, rel, patient, label))

    if not images_dir.is_dir():
        raise InputError(
            f"{images_dir}: image folder not found (config key datasets.<name>.images)"
        )
    absent = [(i, line) for line, i, rel, _, _ in kept if not (images_dir / rel).is_file()]
    report_missing(
        absent,
        len(kept),
        where=images_dir,
        source=labels_csv,
        missing_images=missing_images,
        file_kind="JPEG (patient*/study*/view*.jpg)",
    )
    kept = [k for k in kept if (k[1], k[0]) not in set(absent)]

    reader = segmentation_regions if ground_truth == "segmentations" else annotation_regions
    regions = reader(Path(ground_truth_json), set(seen), target)
    log_selection(labels_csv, target, negatives, counts)
    records = []
    ignored = []
    for _, image_id, rel, patient, label in kept:
        region = regions.get(image_id)
        if region is not None and not label:
            ignored.append(image_id)
            region = None
        records.append(
            Record(
                image_id,
                images_dir / rel,
                label,
                regions=[] if region is None else [region],
                source=str(labels_csv),
                patient_id=patient,
            )
        )
    if ignored:
        log.warning(
            "%s: %d images labelled negative for %r have a %s region for it; the region is "
            "ignored (e.g. %s)",
            ground_truth_json,
            len(ignored),
            target,
            ground_truth[:-1],
            ignored[0],
        )
    return sorted(records, key=lambda r: r.image_id)


def _read(root: Path, layout: dict, options: dict) -> list[Record]:
    ground_truth = _choice("ground_truth", options["ground_truth"], GROUND_TRUTH)
    chosen = layout[ground_truth]
    if chosen is None:
        raise InputError(
            f"{root / LAYOUT[ground_truth]}: not found, and ground_truth: {ground_truth} reads "
            f"it (set config key datasets.<name>.{ground_truth} to the JSON, or the option "
            f"ground_truth to the other of {GROUND_TRUTH})"
        )
    return read_chexlocalize(
        root / layout["images"],
        root / layout["labels"],
        root / chosen,
        target=options["target"],
        negatives=options["negatives"],
        ground_truth=ground_truth,
        uncertain=options["uncertain"],
        views=options["views"],
        missing_images=options["missing_images"],
    )


FORMAT = DatasetFormat(
    name="chexlocalize",
    description="CheXlocalize: CheXpert validation JPEGs, val_labels.csv, segmentation JSON",
    layout=LAYOUT,
    read=_read,
    load_image=read_raster_image,
    synthesize=lazy_writer("synth.chexlocalize", "write_chexlocalize"),
    options={
        "target": "Pneumothorax",
        "negatives": "absent",
        "ground_truth": "segmentations",
        "uncertain": "exclude",
        "views": "frontal",
        "missing_images": "error",
    },
    optional=frozenset({"segmentations", "annotations"}),
    folders=frozenset({"images"}),
    targets=TARGETS,
)
