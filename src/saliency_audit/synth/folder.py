"""A synthetic look-alike of a researcher's own folder dataset (the ``folder`` format).

Layout (``image_format`` png/jpeg/dicom: ``.png``/``.jpg``/``.dcm``)::

    root/images/<patient>/<image>.png      # e.g. images/P0003/image1.png; 8-bit gray
    root/labels.csv                        # image,patient,Pneumothorax,Lung Opacity,Cardiomegaly
    root/masks/<Finding>/<patient>/<image>.png  # annotation="masks": 0/255 per finding present
    root/boxes.csv                         # annotation="boxes": image,finding,x,y,width,height

``labels.csv`` has one row per image (sorted by path): ``image`` (the path under
``images/``), ``patient`` (``P0001``, ...; about ``multi_image_patient_rate`` of the images
belong to a patient with two) and one 0/1 column per planted finding, named as the readers of
the real datasets do (pneumothorax: ``Pneumothorax``, pneumonia: ``Lung Opacity``,
cardiomegaly: ``Cardiomegaly``). With a single finding planted the column is ``label`` and the
masks lie directly under ``masks/<patient>/<image>.png`` (the format's defaults read it as
written). With several, a config reads the masks with ``masks: masks/{target}``.

Masks are the union of a finding's instances (0/255 8-bit PNGs, one per image with that
finding). ``boxes.csv`` holds one row per instance, its tight box in pixels, with ``finding``
the label column's name; ``box_format="corners"`` writes ``x_min,y_min,x_max,y_max`` instead
(``x_max = x + width``). DICOMs are JPEG Baseline CR files whose PatientID is the patient.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import write_text
from . import dicom_writer as dw
from .findings import findings_images, write_jpeg, write_png

IMAGE_DIR, LABELS, MASK_DIR, BOXES = "images", "labels.csv", "masks", "boxes.csv"
#: the label column of each finding (several findings planted)
COLUMNS = {
    "pneumothorax": "Pneumothorax",
    "pneumonia": "Lung Opacity",
    "cardiomegaly": "Cardiomegaly",
}
#: the file name suffix of each ``image_format``
SUFFIXES = {"png": ".png", "jpeg": ".jpg", "dicom": ".dcm"}
ANNOTATIONS = ("masks", "boxes")
BOX_FORMATS = {"xywh": "x,y,width,height", "corners": "x_min,y_min,x_max,y_max"}
_STREAM = 0xF01D  # separates this writer's random streams from the other formats'


def _choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise InputError(f"synth parameter {name}={value!r}: expected one of {tuple(allowed)}")
    return value


def _box_row(relpath: str, finding: str, box: tuple[int, int, int, int], box_format: str) -> str:
    x, y, w, h = box
    values = (x, y, w, h) if box_format == "xywh" else (x, y, x + w, y + h)
    return f"{relpath},{finding}," + ",".join(str(v) for v in values)


@dw.plans(findings_images)
def write_folder(
    root: str | os.PathLike,
    *,
    image_format: str = "png",
    annotation: str = "masks",
    box_format: str = "xywh",
    multi_image_patient_rate: float = 0.2,
    **plan,
) -> dict:
    """Write a synthetic folder-format dataset to ``root`` (replaced atomically).

    ``plan``: the keywords of :func:`~.findings.findings_images` (``n_images``,
    ``positive_rate``, ``seed``, ``size``, ``shortcut_rate``, ``findings``: here default
    ``["pneumothorax"]``, one ``label`` column, so that the format's defaults read it).
    ``image_format``: png, jpeg or dicom; ``annotation``: masks or boxes; ``box_format``:
    xywh or corners (boxes only). Returns a summary: ``format``,
    ``n_images``, ``n_<finding>`` per finding planted, ``n_normal``, ``n_patients``,
    ``n_shortcut``, ``n_masks`` / ``n_boxes``, ``seconds``.
    """
    suffix = SUFFIXES[_choice("image_format", image_format, SUFFIXES)]
    _choice("annotation", annotation, ANNOTATIONS)
    _choice("box_format", box_format, BOX_FORMATS)
    multi_rate = dw.check_rate("multi_image_patient_rate", multi_image_patient_rate)
    plan.setdefault("findings", ("pneumothorax",))
    kinds, images = findings_images(_STREAM, **plan)
    n_images, seed = len(kinds), plan["seed"]
    findings = [k for k in COLUMNS if k in plan.get("findings", COLUMNS)]
    single = len(findings) == 1
    column = {k: "label" if single else COLUMNS[k] for k in findings}

    rng = np.random.default_rng([seed, _STREAM, 2])
    owner, n_patients = dw.patient_owners(rng, n_images, multi_rate)
    patients = [f"P{k + 1:04d}" for k in range(n_patients)]
    relpaths, seen = [], {}
    for i in range(n_images):
        patient = patients[owner[i]]
        seen[patient] = seen.get(patient, 0) + 1
        relpaths.append(f"{patient}/image{seen[patient]}")
    # DICOM header values, drawn whatever the image format so that the rest stays the same
    uids = dw.dcmtk_uids(rng, n_images)
    dates = [dw.seeded_date_time(rng) for _ in range(n_images)]
    views = np.where(rng.random(n_images) < 0.6, "PA", "AP")
    ages = {p: f"{int(np.clip(rng.normal(50, 17), 18, 90)):03d}Y" for p in patients}
    sexes = {p: "M" if rng.random() < 0.52 else "F" for p in patients}

    summary = {"format": "folder", "n_images": 0, "n_shortcut": 0}
    summary.update({f"n_{k}": 0 for k in findings})
    summary.update(n_normal=0, n_patients=n_patients)
    summary["n_masks" if annotation == "masks" else "n_boxes"] = 0
    header = ["image", "patient", *(column[k] for k in findings)]
    rows, box_rows = {}, {}  # relative path -> labels.csv row, boxes.csv rows
    progress = dw.Progress("folder", n_images)
    with dw.atomic_directory(root) as tmp:
        for im in images:
            relpath = relpaths[im.index] + suffix
            patient = relpath.split("/")[0]
            path = tmp / IMAGE_DIR / relpath
            if image_format == "png":
                write_png(path, im.phantom.image)
            elif image_format == "jpeg":
                write_jpeg(path, im.phantom.image)
            else:
                study, series, sop = uids[im.index]
                date, time_of_day = dates[im.index]
                dw.write_cr_dicom(
                    path,
                    im.phantom.image,
                    patient_id=patient,
                    patient_name=patient,
                    study_uid=study,
                    series_uid=series,
                    sop_uid=sop,
                    age=ages[patient],
                    sex=sexes[patient],
                    view=str(views[im.index]),
                    study_date=date,
                    study_time=time_of_day,
                )
            flags = [str(int(k in im.kinds)) for k in findings]
            rows[relpath] = ",".join([relpath, patient, *flags])
            for kind in im.kinds:
                summary[f"n_{kind}"] += 1
                if annotation == "masks":
                    union = np.zeros(im.phantom.image.shape, dtype=np.uint8)
                    for instance in im.instances(kind):
                        union |= instance
                    folder = tmp / MASK_DIR if single else tmp / MASK_DIR / column[kind]
                    write_png(folder / Path(relpath).with_suffix(".png"), union * np.uint8(255))
                    summary["n_masks"] += 1
                else:
                    for box in im.boxes(kind):
                        row = _box_row(relpath, column[kind], box, box_format)
                        box_rows.setdefault(relpath, []).append(row)
                        summary["n_boxes"] += 1
            summary["n_normal"] += not im.kinds
            summary["n_shortcut"] += im.shortcut
            summary["n_images"] += 1
            progress.update(summary["n_images"])
        lines = [",".join(header)] + [rows[k] for k in sorted(rows)]
        write_text(tmp / LABELS, "\n".join(lines) + "\n")
        if annotation == "boxes":
            box_lines = [f"image,finding,{BOX_FORMATS[box_format]}"]
            box_lines += [row for k in sorted(box_rows) for row in box_rows[k]]
            write_text(tmp / BOXES, "\n".join(box_lines) + "\n")
    summary["seconds"] = round(progress.seconds, 3)
    return summary
