"""Readers for the two real dataset layouts (read unmodified) and their label CSVs.

Each reader returns a list of :class:`Record` sorted by image id: the DICOM path, the
image-level label and the raw annotations with the CSV line they came from, so that every
later error can name the file and row.  Nothing here opens a DICOM file.

* SIIM-ACR pneumothorax: ``dicom-images-train/<study>/<series>/<ImageId>.dcm`` and
  ``train-rle.csv`` (header ``ImageId, EncodedPixels``; stage 2: ``ImageId,EncodedPixels``),
  one row per region, ``-1`` for none.
* RSNA pneumonia: ``stage_2_train_images/<patientId>.dcm``, ``stage_2_train_labels.csv``
  (``patientId,x,y,width,height,Target``, one row per box) and optionally
  ``stage_2_detailed_class_info.csv`` (``patientId,class``) to keep only some classes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import rle as rle_mod
from .errors import AnnotationError, InputError

log = logging.getLogger(__name__)

FORMATS = ("siim", "rsna")
DEFAULT_LAYOUT = {
    "siim": {"images": "dicom-images-train", "labels": "train-rle.csv", "class_info": None},
    "rsna": {
        "images": "stage_2_train_images",
        "labels": "stage_2_train_labels.csv",
        "class_info": "stage_2_detailed_class_info.csv",
    },
}


@dataclass(frozen=True)
class Box:
    """A box in original pixels: top-left ``x, y`` and ``width, height``."""

    x: float
    y: float
    width: float
    height: float
    line: int


@dataclass
class Record:
    image_id: str
    path: Path
    label: int
    rles: list[tuple[str, int]] = field(default_factory=list)  # (EncodedPixels, CSV line)
    boxes: list[Box] = field(default_factory=list)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: label CSV not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the label CSV is empty (not even a header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse as CSV ({exc})") from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas turns the first column into the index when the first data row has more
        # fields than the header, shifting every value one column to the right
        raise InputError(
            f"{path}, row 2: more fields than the {len(frame.columns)} of the header "
            f"{','.join(map(str, frame.columns))!r}"
        )
    return frame


def _check_columns(path: Path, frame: pd.DataFrame, expected: list[str]) -> None:
    found = [c.strip() for c in frame.columns]
    if found != expected:
        raise InputError(
            f"{path}: header {','.join(map(str, frame.columns))!r} does not match the expected "
            f"{','.join(expected)!r}"
        )
    frame.columns = expected


def index_dicoms(images_dir: Path, recursive: bool) -> dict[str, Path]:
    """Map file stem -> path for every ``*.dcm`` under ``images_dir``."""
    if not images_dir.is_dir():
        raise InputError(f"{images_dir}: image folder not found")
    found: dict[str, Path] = {}
    pattern = "**/*.dcm" if recursive else "*.dcm"
    for path in sorted(images_dir.glob(pattern)):
        stem = path.stem
        if stem in found:
            raise InputError(
                f"{images_dir}: image id {stem!r} occurs twice: {found[stem]} and {path}"
            )
        found[stem] = path
    return found


def read_siim(images_dir: Path, labels_csv: Path) -> list[Record]:
    """Read a SIIM-ACR layout; image-level label = any region present."""
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    frame = _read_csv(labels_csv)
    _check_columns(labels_csv, frame, ["ImageId", "EncodedPixels"])
    files = index_dicoms(images_dir, recursive=True)
    records: dict[str, Record] = {}
    negatives_at: dict[str, int] = {}
    for i, (image_id, encoded) in enumerate(
        zip(frame["ImageId"], frame["EncodedPixels"], strict=True)
    ):
        line = i + 2
        image_id = image_id.strip()
        if not image_id:
            raise AnnotationError(labels_csv, line, "empty ImageId")
        path = files.get(image_id)
        if path is None:
            raise InputError(
                f"{labels_csv}, row {line}: image {image_id!r} has no DICOM file under {images_dir}"
            )
        rec = records.setdefault(image_id, Record(image_id, path, 0))
        if rle_mod.is_empty(encoded):
            if rec.rles:
                raise AnnotationError(
                    labels_csv,
                    line,
                    f"image {image_id!r} is marked -1 (no pneumothorax) but row "
                    f"{rec.rles[0][1]} gives it a region: conflicting labels",
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
            rec.rles.append((encoded, line))
            rec.label = 1
    unlabeled = len(set(files) - set(records))
    if unlabeled:
        log.warning(
            "%d DICOM files under %s have no row in %s; skipped", unlabeled, images_dir, labels_csv
        )
    return [records[k] for k in sorted(records)]


def _parse_float(value: str, name: str, source: Path, line: int) -> float:
    try:
        out = float(value)
    except ValueError:
        raise AnnotationError(source, line, f"{name}={value!r} is not a number") from None
    if not math.isfinite(out):
        raise AnnotationError(source, line, f"{name}={value!r} is not a finite number")
    return out


def read_rsna(
    images_dir: Path,
    labels_csv: Path,
    class_info_csv: Path | None = None,
    classes: list[str] | None = None,
) -> list[Record]:
    """Read an RSNA layout; keep only ``classes`` of the class-info CSV when both are given."""
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    frame = _read_csv(labels_csv)
    _check_columns(labels_csv, frame, ["patientId", "x", "y", "width", "height", "Target"])
    keep: set[str] | None = None
    if class_info_csv is not None and classes:
        info = _read_csv(Path(class_info_csv))
        _check_columns(Path(class_info_csv), info, ["patientId", "class"])
        unknown = sorted(set(classes) - set(info["class"]))
        if unknown:
            log.warning("classes %s do not occur in %s", unknown, class_info_csv)
        keep = set(info.loc[info["class"].isin(classes), "patientId"])
    files = index_dicoms(images_dir, recursive=False)
    records: dict[str, Record] = {}
    target_at: dict[str, tuple[int, int]] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        line = i + 2
        pid = row.patientId.strip()
        if not pid:
            raise AnnotationError(labels_csv, line, "empty patientId")
        if keep is not None and pid not in keep:
            continue
        target_text = row.Target.strip()
        if target_text not in ("0", "1"):
            raise AnnotationError(labels_csv, line, f"Target={row.Target!r}; expected 0 or 1")
        target = int(target_text)
        if pid in target_at and target_at[pid][0] != target:
            raise AnnotationError(
                labels_csv,
                line,
                f"patientId {pid!r} has Target={target} but row "
                f"{target_at[pid][1]} has Target={target_at[pid][0]}: conflicting labels",
            )
        target_at.setdefault(pid, (target, line))
        path = files.get(pid)
        if path is None:
            raise InputError(
                f"{labels_csv}, row {line}: patientId {pid!r} has no DICOM file {pid}.dcm "
                f"in {images_dir}"
            )
        rec = records.setdefault(pid, Record(pid, path, target))
        if target == 1:
            x, y, w, h = (
                _parse_float(getattr(row, name), name, labels_csv, line)
                for name in ("x", "y", "width", "height")
            )
            if x < 0 or y < 0:
                raise AnnotationError(labels_csv, line, f"box corner ({x}, {y}) is negative")
            if w <= 0 or h <= 0:
                raise AnnotationError(labels_csv, line, f"box size {w} x {h} is not positive")
            rec.boxes.append(Box(x, y, w, h, line))
    return [records[k] for k in sorted(records)]


def read_dataset(fmt: str, root: Path, layout: dict | None = None) -> list[Record]:
    """Read a dataset of format ``fmt`` under ``root`` with optional layout overrides.

    ``layout`` keys: ``images``, ``labels``, ``class_info``, ``classes``; relative paths are
    taken relative to ``root``.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown dataset format {fmt!r}; expected one of {FORMATS}")
    layout = {**DEFAULT_LAYOUT[fmt], **(layout or {})}
    root = Path(root)

    def resolve(key):
        value = layout.get(key)
        return None if value is None else root / value

    if fmt == "siim":
        return read_siim(resolve("images"), resolve("labels"))
    return read_rsna(
        resolve("images"), resolve("labels"), resolve("class_info"), layout.get("classes")
    )
