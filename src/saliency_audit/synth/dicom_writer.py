"""Write 8-bit MONOCHROME2 chest radiographs as JPEG Baseline DICOM Part-10 files.

Also holds the small helpers both dataset writers share: dcmtk-style UIDs like those of the
real Kaggle files, seeded dates, UUID4-like identifiers, an atomic output directory and
progress logging.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, JPEGBaseline8Bit

from ..errors import InputError
from ..io import atomic_path

CR_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.1")
# A fixed implementation UID and name so that the bytes never depend on the pydicom version.
IMPLEMENTATION_CLASS_UID = UID("1.2.826.0.1.3680043.8.498.17601001")
IMPLEMENTATION_VERSION_NAME = "SALIENCY_AUDIT"
FIELD_OF_VIEW_MM = 172.0  # 1024 px x 0.168 mm, as in the SIIM-ACR files
JPEG_QUALITY = 95


def encode_jpeg(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """Encode a ``uint8 (rows, cols)`` image as a baseline (non-progressive) JPEG."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def write_cr_dicom(
    path: str | os.PathLike,
    pixels_uint8: np.ndarray,
    *,
    patient_id: str,
    patient_name: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    age: str,
    sex: str,
    view: str,
    extra: dict[str, Any] | None = None,
    study_date: str = "19010101",
    study_time: str = "000000.00",
    pixel_spacing_mm: float | None = None,
    quality: int = JPEG_QUALITY,
) -> None:
    """Write a CR chest radiograph as a DICOM Part-10 file (JPEG Baseline, 8-bit).

    ``pixels_uint8``: ``uint8 (rows, cols)``, displayed as MONOCHROME2 (0 = black).
    ``age``: the PatientAge string as stored (``"038Y"`` or ``"51"``); ``sex``: ``M``/``F``/
    ``O``; ``view``: ViewPosition (``PA``/``AP``).  ``extra``: further header attributes by
    DICOM keyword (e.g. ``{"PatientBirthDate": "19700101"}``), set last so they can also
    override defaults.  ``pixel_spacing_mm`` defaults to a 172 mm field of view.
    The file is written atomically and its bytes depend only on the arguments.
    """
    pixels = np.asarray(pixels_uint8)
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be a 2-D uint8 array, got {pixels.dtype} {pixels.shape}")
    rows, cols = pixels.shape
    spacing = FIELD_OF_VIEW_MM / max(rows, cols) if pixel_spacing_mm is None else pixel_spacing_mm

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = JPEGBaseline8Bit
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CR_IMAGE_STORAGE
    ds.SOPInstanceUID = UID(sop_uid)
    ds.StudyDate = study_date
    ds.StudyTime = study_time
    ds.AccessionNumber = ""
    ds.Modality = "CR"
    ds.ConversionType = "WSD"
    ds.ReferringPhysicianName = ""
    ds.SeriesDescription = f"view: {view}"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = sex
    # the RSNA files store ages without the unit ("51"), which pydicom would warn about
    ds["PatientAge"] = DataElement(0x00101010, "AS", age, validation_mode=pydicom.config.IGNORE)
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = view
    ds.StudyInstanceUID = UID(study_uid)
    ds.SeriesInstanceUID = UID(series_uid)
    ds.StudyID = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [f"{spacing:.6g}", f"{spacing:.6g}"]
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    for keyword, value in (extra or {}).items():
        if pydicom.datadict.tag_for_keyword(keyword) is None:
            raise InputError(f"extra header field {keyword!r} is not a DICOM keyword")
        setattr(ds, keyword, value)
    ds.PixelData = encapsulate([encode_jpeg(np.ascontiguousarray(pixels), quality)])
    ds["PixelData"].VR = "OB"

    with atomic_path(path) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
        os.chmod(tmp, _mode(directory=False))


# --------------------------------------------------------------------------------------
# helpers shared by the SIIM and RSNA writers

LOG = logging.getLogger("saliency_audit.synth")
DCMTK_ROOT = "1.2.276.0.7230010.3.1"  # the UID root of the real SIIM-ACR and RSNA files
DCMTK_SITE = "8323329"


def _mode(directory: bool) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def dcmtk_uids(rng: np.random.Generator, n: int) -> list[tuple[str, str, str]]:
    """``n`` distinct (study, series, SOP instance) UID triples in the style of the files.

    Like ``1.2.276.0.7230010.3.1.4.8323329.5597.1517875188.959090`` (SOP instance, ``.4``)
    with study ``.2`` and series ``.3`` UIDs that share the process number and timestamp.
    """
    procs = 1000 + rng.choice(max(30000, 3 * n), size=n, replace=False)
    stamp = 1517870000 + int(rng.integers(0, 20000))
    counter = 100000 + int(rng.integers(0, 800000))
    out = []
    for i, proc in enumerate(procs.tolist()):
        ts = stamp + i // 8
        c = counter + 3 * i
        tail = f"{DCMTK_SITE}.{proc}.{ts}"
        out.append(
            (
                f"{DCMTK_ROOT}.2.{tail}.{c + 1}",
                f"{DCMTK_ROOT}.3.{tail}.{c}",
                f"{DCMTK_ROOT}.4.{tail}.{c + 2}",
            )
        )
    return out


def uuid4_like(rng: np.random.Generator) -> str:
    """A seeded random UUID (version 4 layout), like the Kaggle patient ids."""
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def seeded_date_time(rng: np.random.Generator) -> tuple[str, str]:
    """A (StudyDate ``YYYYMMDD``, StudyTime ``HHMMSS.00``) pair drawn from ``rng``."""
    start = datetime.date(2005, 1, 1).toordinal()
    day = datetime.date.fromordinal(start + int(rng.integers(0, 13 * 365)))
    secs = int(rng.integers(7 * 3600, 20 * 3600))
    return day.strftime("%Y%m%d"), f"{secs // 3600:02d}{secs // 60 % 60:02d}{secs % 60:02d}.00"


@contextlib.contextmanager
def atomic_directory(root: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``root``; on success it replaces ``root``.

    An existing ``root`` is removed only after the new tree is complete; on failure the
    temporary tree is deleted and ``root`` is left untouched.
    """
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{root.name}-", dir=root.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    dmode, fmode = _mode(directory=True), _mode(directory=False)
    for dirpath, _, files in os.walk(tmp):
        os.chmod(dirpath, dmode)
        for name in files:
            os.chmod(os.path.join(dirpath, name), fmode)
    old = None
    if root.exists() or root.is_symlink():
        old = root.with_name(f".old-{tmp.name}")
        os.replace(root, old)
    os.replace(tmp, root)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


@dataclass
class CrRecord:
    """One synthetic radiograph: identifiers, header values, shortcut flag and phantom. A
    format's record adds its label and ``relpath`` (the file's place in the layout)."""

    index: int
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    age: str
    sex: str
    view: str
    study_date: str
    study_time: str
    shortcut: bool
    phantom: Any

    relpath: ClassVar[str]


def write_images(root: Path, records: Iterable[CrRecord], summary: dict) -> Iterator[CrRecord]:
    """Write each record's DICOM under ``root``; yield the record (to write its labels); count
    ``n_images`` and ``n_shortcut`` in ``summary`` and log progress (total: ``summary["n_total"]``,
    popped); set ``summary["seconds"]`` at the end."""
    progress = Progress(summary["format"], int(summary.pop("n_total")))
    summary.update(n_images=0, n_shortcut=0)
    for rec in records:
        write_cr_dicom(
            Path(root) / rec.relpath,
            rec.phantom.image,
            patient_id=rec.patient_id,
            patient_name=rec.patient_id,
            study_uid=rec.study_uid,
            series_uid=rec.series_uid,
            sop_uid=rec.sop_uid,
            age=rec.age,
            sex=rec.sex,
            view=rec.view,
            study_date=rec.study_date,
            study_time=rec.study_time,
        )
        yield rec
        summary["n_shortcut"] += rec.shortcut
        summary["n_images"] += 1
        progress.update(summary["n_images"])
    summary["seconds"] = round(progress.seconds, 3)


def plans(planner: Callable) -> Callable:
    """Mark a writer whose ``**plan`` keywords are those of ``planner`` (its records
    function), so that :func:`saliency_audit.synth.synthesize` can check them by name."""

    def mark(writer):
        writer.planner = planner
        return writer

    return mark


class Progress:
    """Log ``done/total`` and the rate about every 10% through ``saliency_audit.synth``."""

    def __init__(self, label: str, total: int):
        self.label, self.total = label, total
        self.step = max(1, total // 10)
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def update(self, done: int) -> None:
        if done % self.step and done != self.total:
            return
        rate = done / max(self.seconds, 1e-9)
        LOG.info(
            "%s: %d/%d images (%.0f%%), %.1f images/s",
            self.label,
            done,
            self.total,
            100.0 * done / self.total,
            rate,
        )


def check_count(name: str, value, minimum: int = 1) -> int:
    """Validate an integer parameter; :class:`InputError` names ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(f"synth parameter {name}={value!r}: expected an integer >= {minimum}")
    return int(value)


def check_rate(name: str, value) -> float:
    """Validate a fraction in ``[0, 1]``; :class:`InputError` names ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InputError(f"synth parameter {name}={value!r}: expected a number in [0, 1]")
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(f"synth parameter {name}={value!r}: expected a number in [0, 1]")
    return float(value)


def check_plan(
    *,
    n_images: int,
    positive_rate: float,
    seed: int,
    size: int = 1024,
    shortcut_rate: float = 0.0,
) -> tuple:
    """The parameters every synthetic dataset plan has, checked (:class:`InputError` names
    the one at fault): ``(n_images, positive_rate, size, seed, shortcut_rate)``.

    ``n_images`` images of ``size`` x ``size`` pixels, exactly ``round(n_images *
    positive_rate)`` positive, ``round(n_positive * shortcut_rate)`` of those with the
    shortcut marker; everything drawn from ``seed``."""
    return (
        check_count("n_images", n_images),
        check_rate("positive_rate", positive_rate),
        check_count("size", size, 32),
        check_count("seed", seed, 0),
        check_rate("shortcut_rate", shortcut_rate),
    )


def study_header(uids: list[tuple[str, str, str]], dates: list, views, i: int) -> dict:
    """Image ``i``'s study, series and SOP UIDs, view and study date/time as record fields."""
    study, series, sop = uids[i]
    date, time_of_day = dates[i]
    return dict(
        study_uid=study,
        series_uid=series,
        sop_uid=sop,
        view=str(views[i]),
        study_date=date,
        study_time=time_of_day,
    )


def split_count(n: int, rate: float) -> int:
    """``round(n * rate)`` with halves rounded up, the exact count a rate asks for."""
    return int(np.floor(n * rate + 0.5))


def patient_owners(rng: np.random.Generator, n_images: int, multi_rate: float) -> tuple:
    """``(owner, n_patients)``: the patient (0-based) of each image, about a fraction
    ``multi_rate`` of the images belonging to a patient with two images (the first
    ``n_pairs`` patients own two each; images are shuffled over patients)."""
    n_pairs = min(split_count(n_images, multi_rate) // 2, n_images // 2)
    owner = np.concatenate(
        [np.repeat(np.arange(n_pairs), 2), np.arange(n_pairs, n_images - n_pairs)]
    )
    return owner[rng.permutation(n_images)], n_images - n_pairs
