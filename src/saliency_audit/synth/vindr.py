"""A synthetic look-alike of the VinDr-CXR (PhysioNet v1.0.0) training data.

Layout (as in the PhysioNet download)::

    root/train/<image_id>.dicom                 # image_id: 32 lower-case hex digits
    root/annotations/annotations_train.csv      # image_id,rad_id,class_name,x_min,y_min,x_max,y_max
    root/annotations/image_labels_train.csv     # image_id,rad_ID,<28 labels> (0/1 per reader)

Each image is read by ``n_readers`` distinct radiologists drawn from R1..R17. A reader
misses each planted finding with probability ``reader_miss_rate`` and otherwise boxes each
of its instances (the tight box of the planted mask, its corners jittered by up to
``max(1, round(size / 256))`` pixels, inside the image), one row per box, corners formatted
like ``691.0``; a reader with no box writes one ``<id>,R9,No finding,,,,`` row. Findings are
named ``Pneumothorax`` (pneumothorax), ``Lung Opacity`` (pneumonia) and ``Cardiomegaly``.
Rows are sorted by image_id, then by reader number (R2 before R10).

The DICOMs are uncompressed (Explicit VR Little Endian), Modality DX, MONOCHROME1 (inverted:
0 is white), 12 bits stored in 16 (the phantom's 0..255 scaled to 0..4095), with a window
over the full 12-bit range and an empty PatientID (de-identified, as in the real files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from ..errors import InputError
from ..formats.vindr import COLUMNS, FINDINGS, NO_FINDING
from ..io import atomic_path, write_text
from . import dicom_writer as dw
from .findings import findings_images

IMAGE_DIR = "train"
ANNOTATIONS = "annotations/annotations_train.csv"
IMAGE_LABELS = "annotations/image_labels_train.csv"
_STREAM = 0x7D12  # separates this writer's random streams from the other writers'
#: the phantom's findings under their VinDr-CXR class names
NAMES = {
    "pneumothorax": "Pneumothorax",
    "pneumonia": "Lung Opacity",
    "cardiomegaly": "Cardiomegaly",
}
N_RADIOLOGISTS = 17  # R1..R17
GLOBAL_LABELS = ("COPD", "Lung tumor", "Pneumonia", "Tuberculosis", "Other diseases")
LABEL_COLUMNS = ("image_id", "rad_ID", *FINDINGS, *GLOBAL_LABELS, NO_FINDING)
DX_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.1.1")  # Digital X-Ray, For Presentation
BITS_STORED = 12


def write_dx_dicom(
    path: str | os.PathLike,
    pixels_uint8: np.ndarray,
    *,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    sex: str,
    age: str,
) -> None:
    """Write a de-identified DX radiograph as VinDr-CXR stores it: uncompressed, MONOCHROME1,
    12 bits stored in 16, empty PatientID.

    ``pixels_uint8``: ``uint8 (rows, cols)`` as displayed (0 = black); stored as
    ``4095 - round(p * 4095 / 255)``, with a window (centre 2048, width 4096) under which the
    displayed value is the stored one over 4095, inverted. Written atomically; the bytes
    depend only on the arguments."""
    pixels = np.asarray(pixels_uint8)
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be a 2-D uint8 array, got {pixels.dtype} {pixels.shape}")
    rows, cols = pixels.shape
    top = 2**BITS_STORED - 1
    stored = (top - np.rint(pixels.astype(np.float64) * (top / 255.0))).astype("<u2")
    spacing = dw.FIELD_OF_VIEW_MM / max(rows, cols)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = dw.IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = dw.IMPLEMENTATION_VERSION_NAME

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = DX_IMAGE_STORAGE
    ds.SOPInstanceUID = UID(sop_uid)
    ds.Modality = "DX"
    ds.PatientName = ""
    ds.PatientID = ""
    ds.PatientSex = sex
    ds.PatientAge = age
    ds.BodyPartExamined = "CHEST"
    ds.StudyInstanceUID = UID(study_uid)
    ds.SeriesInstanceUID = UID(series_uid)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [f"{spacing:.6g}", f"{spacing:.6g}"]
    ds.BitsAllocated = 16
    ds.BitsStored = BITS_STORED
    ds.HighBit = BITS_STORED - 1
    ds.PixelRepresentation = 0
    ds.WindowCenter = "2048"
    ds.WindowWidth = "4096"
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OW"
    with atomic_path(path) as tmp:
        ds.save_as(tmp, enforce_file_format=True)


def _jittered(
    rng: np.random.Generator, box: tuple[int, int, int, int], size: int, jitter: int
) -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` -> corners ``(x_min, y_min, x_max, y_max)``, each moved by up to
    ``jitter`` pixels, inside the ``size`` x ``size`` image and increasing."""
    x, y, w, h = box
    dx0, dy0, dx1, dy1 = (int(d) for d in rng.integers(-jitter, jitter + 1, size=4))
    x0 = min(max(x + dx0, 0), size - 1)
    y0 = min(max(y + dy0, 0), size - 1)
    x1 = min(max(x + w + dx1, x0 + 1), size)
    y1 = min(max(y + h + dy1, y0 + 1), size)
    return x0, y0, x1, y1


def _reader_rows(
    rng: np.random.Generator,
    image_id: str,
    boxes: dict[str, list[tuple[int, int, int, int]]],
    *,
    n_readers: int,
    miss_rate: float,
    size: int,
) -> tuple[list[tuple[int, str]], list[str], int]:
    """One image's annotation rows (sort key, text) and label rows, and the findings missed."""
    jitter = max(1, round(size / 256))
    numbers = sorted(int(k) + 1 for k in rng.choice(N_RADIOLOGISTS, n_readers, replace=False))
    rows, label_rows, missed = [], [], 0
    for number in numbers:
        rad = f"R{number}"
        seen = []
        for kind, kind_boxes in boxes.items():
            if rng.random() < miss_rate:
                missed += 1
                continue
            seen.append(NAMES[kind])
            for box in kind_boxes:
                x0, y0, x1, y1 = _jittered(rng, box, size, jitter)
                text = f"{image_id},{rad},{NAMES[kind]},{x0:.1f},{y0:.1f},{x1:.1f},{y1:.1f}"
                rows.append((number, text))
        if not seen:
            rows.append((number, f"{image_id},{rad},{NO_FINDING},,,,"))
        flags = [int(c in seen or (c == NO_FINDING and not seen)) for c in LABEL_COLUMNS[2:]]
        label_rows.append(",".join([image_id, rad, *map(str, flags)]))
    return rows, label_rows, missed


def image_ids(seed: int, n_images: int) -> list[str]:
    """The ids :func:`write_vindr` gives images ``0 .. n_images - 1`` (the plan's order):
    distinct, 32 hex digits like VinDr-CXR's, drawn from ``seed``."""
    rng = np.random.default_rng([seed, _STREAM, 2])
    ids: list[str] = []
    while len(ids) < n_images:
        new = rng.bytes(16).hex()
        if new not in ids:
            ids.append(new)
    return ids


@dw.plans(findings_images)
def write_vindr(
    root: str | os.PathLike, *, n_readers: int = 3, reader_miss_rate: float = 0.15, **plan
) -> dict:
    """Write a synthetic VinDr-CXR-format dataset to ``root`` (replaced atomically).

    ``plan``: the keywords of :func:`~.findings.findings_images` (``n_images``,
    ``positive_rate``, ``seed``, ``size``, ``shortcut_rate``, ``findings``: default all three).
    ``n_readers`` (1..17) radiologists read each image; each misses each planted finding with
    probability ``reader_miss_rate``. Returns a summary: ``format``, ``n_images``,
    ``n_shortcut``, ``findings`` (images planted with each, by class name), ``n_no_finding``,
    ``n_readers``, ``n_rows``, ``n_boxes``, ``n_missed`` (reader-finding pairs missed),
    ``seconds``.
    """
    n_readers = dw.check_count("n_readers", n_readers)
    if n_readers > N_RADIOLOGISTS:
        raise InputError(
            f"synth parameter n_readers={n_readers}: expected an integer from 1 to "
            f"{N_RADIOLOGISTS} (VinDr-CXR's radiologists R1..R17)"
        )
    miss_rate = dw.check_rate("reader_miss_rate", reader_miss_rate)
    kinds, images = findings_images(_STREAM, **plan)
    seed, n_images = plan["seed"], len(kinds)
    ids = image_ids(seed, n_images)
    rng = np.random.default_rng([seed, _STREAM, 4])
    uids = dw.dcmtk_uids(rng, n_images)
    sexes = np.where(rng.random(n_images) < 0.5, "M", "F")
    ages = [f"{int(np.clip(rng.normal(48, 15), 18, 90)):03d}Y" for _ in range(n_images)]

    findings: Sequence[str] = plan.get("findings") or tuple(NAMES)
    summary = {"format": "vindr", "n_images": 0, "n_shortcut": 0}
    summary["findings"] = {NAMES[k]: sum(k in ks for ks in kinds) for k in findings}
    summary.update(n_no_finding=sum(not ks for ks in kinds), n_readers=n_readers)
    summary.update(n_rows=0, n_boxes=0, n_missed=0)
    rows: list[tuple[str, int, str]] = []
    label_rows: list[tuple[str, str]] = []
    progress = dw.Progress("vindr", n_images)
    with dw.atomic_directory(root) as tmp:
        (tmp / IMAGE_DIR).mkdir()
        (tmp / "annotations").mkdir()
        for image in images:
            i, image_id = image.index, ids[image.index]
            study, series, sop = uids[i]
            write_dx_dicom(
                tmp / IMAGE_DIR / f"{image_id}.dicom",
                image.phantom.image,
                study_uid=study,
                series_uid=series,
                sop_uid=sop,
                sex=str(sexes[i]),
                age=ages[i],
            )
            boxes = {k: image.boxes(k) for k in image.kinds}
            image_rng = np.random.default_rng([seed, _STREAM, 3, i])
            these, labels, missed = _reader_rows(
                image_rng,
                image_id,
                boxes,
                n_readers=n_readers,
                miss_rate=miss_rate,
                size=image.phantom.image.shape[0],
            )
            rows.extend((image_id, number, text) for number, text in these)
            label_rows.extend((image_id, text) for text in labels)
            summary["n_boxes"] += sum(not text.endswith(",,,,") for _, text in these)
            summary["n_missed"] += missed
            summary["n_shortcut"] += image.shortcut
            summary["n_images"] += 1
            progress.update(summary["n_images"])
        rows.sort(key=lambda r: (r[0], r[1]))
        summary["n_rows"] = len(rows)
        lines = [",".join(COLUMNS)] + [r[2] for r in rows]
        write_text(tmp / ANNOTATIONS, "\n".join(lines) + "\n")
        label_rows.sort(key=lambda r: r[0])  # stable: readers stay in number order
        text = "\n".join([",".join(LABEL_COLUMNS)] + [r[1] for r in label_rows]) + "\n"
        write_text(tmp / IMAGE_LABELS, text)
    summary["seconds"] = round(progress.seconds, 3)
    return summary
