"""RSNA Pneumonia Detection Challenge (stage 2): DICOMs and bounding boxes.

Layout (the Kaggle download, read unmodified)::

    root/stage_2_train_images/<patientId>.dcm
    root/stage_2_train_labels.csv          # patientId,x,y,width,height,Target (one row per box)
    root/stage_2_detailed_class_info.csv   # patientId,class (optional: keeps ``classes`` only)

Boxes are in original pixels, ``x, y`` the top-left corner; rows of Target 0 have empty box
fields. The paper kept Lung Opacity vs Normal (option ``classes``). Without the class-info CSV
(``class_info: null``, or the file absent) every patient is kept, and the log says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import AnnotationError
from .base import (
    Box,
    DatasetFormat,
    Record,
    lazy_writer,
    locate_images,
    parse_float,
    read_dicom_image,
    read_label_csv,
)

log = logging.getLogger(__name__)


def read_rsna(
    images_dir: Path,
    labels_csv: Path,
    class_info_csv: Path | None = None,
    classes: list[str] | None = None,
    *,
    root: Path | None = None,
    missing_images: str = "error",
) -> list[Record]:
    """Read an RSNA layout; keep only ``classes`` of the class-info CSV when both are given.
    Images not in ``images_dir`` are looked for under ``root`` (:func:`~.base.locate_images`)."""
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    frame = read_label_csv(labels_csv, ["patientId", "x", "y", "width", "height", "Target"])
    patients = {pid.strip() for pid in frame["patientId"]} - {""}
    keep: set[str] | None = None
    if class_info_csv is not None and classes:
        info = read_label_csv(Path(class_info_csv), ["patientId", "class"])
        unknown = sorted(set(classes) - set(info["class"]))
        if unknown:
            log.warning("classes %s do not occur in %s", unknown, class_info_csv)
        keep = set(info.loc[info["class"].isin(classes), "patientId"])
        log.info(
            "class filter %s (%s): kept %d of %d patients, dropped %d",
            classes,
            class_info_csv,
            len(patients & keep),
            len(patients),
            len(patients - keep),
        )
    else:
        why = "no class-info CSV" if class_info_csv is None else "no classes given"
        log.info("%s: all %d patients of %s kept (no class filter)", why, len(patients), labels_csv)
    files, skipped = locate_images(
        frame["patientId"],
        images_dir,
        "*.dcm",
        root=root,
        source=labels_csv,
        missing_images=missing_images,
        noun="patientId",
        keep=keep,
    )
    records: dict[str, Record] = {}
    target_at: dict[str, tuple[int, int]] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        line = i + 2
        pid = row.patientId.strip()
        if not pid:
            raise AnnotationError(labels_csv, line, "empty patientId")
        if (keep is not None and pid not in keep) or pid in skipped:
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
        rec = records.setdefault(pid, Record(pid, files[pid], target, source=str(labels_csv)))
        if target == 1:
            x, y, w, h = (
                parse_float(getattr(row, name), name, labels_csv, line)
                for name in ("x", "y", "width", "height")
            )
            if x < 0 or y < 0:
                raise AnnotationError(labels_csv, line, f"box corner ({x}, {y}) is negative")
            if w <= 0 or h <= 0:
                raise AnnotationError(labels_csv, line, f"box size {w} x {h} is not positive")
            rec.boxes.append(Box(x, y, w, h, line))
    return [records[k] for k in sorted(records)]


def _read(root: Path, layout: dict, options: dict) -> list[Record]:
    info = layout.get("class_info")
    return read_rsna(
        root / layout["images"],
        root / layout["labels"],
        None if info is None else root / info,
        options["classes"],
        root=root,
        missing_images=options["missing_images"],
    )


FORMAT = DatasetFormat(
    name="rsna",
    finding="Pneumonia",
    description="RSNA pneumonia: DICOMs, stage_2_train_labels.csv (boxes), class info",
    layout={
        "images": "stage_2_train_images",
        "labels": "stage_2_train_labels.csv",
        "class_info": "stage_2_detailed_class_info.csv",
    },
    read=_read,
    load_image=read_dicom_image,
    synthesize=lazy_writer("synth.rsna", "write_rsna"),
    options={"classes": ["Lung Opacity", "Normal"], "missing_images": "error"},
    optional=frozenset({"class_info"}),
    task="detection",
)
