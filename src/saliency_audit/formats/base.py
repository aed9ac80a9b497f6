"""What a dataset format is, and the pieces every format reader shares.

A :class:`DatasetFormat` record says everything the workflow needs to know about one real
download layout: its default file layout, the reader of its labels (a list of
:class:`Record`), the loader of one image file, its format-specific options and the writer of a
synthetic look-alike. The registry (:data:`saliency_audit.formats.FORMATS`) holds one record
per format; nothing else in the workflow branches on a format's name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..errors import AnnotationError, InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Box:
    """A box in original pixels: top-left ``x, y`` and ``width, height``; ``line``: its row in
    the label file; ``reader``: who drew it, where several readers annotated an image."""

    x: float
    y: float
    width: float
    height: float
    line: int
    reader: str = ""


@dataclass
class Record:
    """One labelled image: its id, file, image-level label and raw annotations.

    ``regions``: ground-truth regions at the original size (:mod:`.regions`: RLE strings,
    COCO RLEs, polygons, mask files; OR-ed); ``boxes``: :class:`Box` es (filled into the mask
    and written to ``boxes.csv``); ``source``: the label file they came from (named in
    errors); ``patient_id``: from the label file where it has one (else the DICOM's
    PatientID is used, else the image id); ``box_votes``: a pixel is ground truth where the
    boxes of at least this many readers cover it (1: the union of every box).
    """

    image_id: str
    path: Path
    label: int
    regions: list[Region] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    source: str = ""
    patient_id: str | None = None
    box_votes: int = 1

    @property
    def annotated(self) -> bool:
        """Whether the record has any ground-truth region or box."""
        return bool(self.regions or self.boxes)


class Region(Protocol):
    """A ground-truth region at the original image size (see :mod:`.regions`)."""

    def paint(self, canvas: np.ndarray) -> None:
        """OR the region into ``canvas`` (``uint8 (rows, cols)``)."""


#: ``(path, allowed_modalities) -> image`` with ``pixels`` float32 in [0, 1] (white = 1),
#: ``rows``, ``cols``, ``photometric``, ``bits_stored``, ``transfer_syntax``, ``patient_id``
ImageLoader = Callable[..., Any]


@dataclass(frozen=True)
class DatasetFormat:
    """One dataset format.

    Attributes:
        name: the config's ``format:`` value.
        description: one line for the docs and error messages.
        layout: default file layout, relative to the dataset root; the config's ``images``,
            ``labels``, ``class_info`` keys override it. ``images`` is a folder; every other
            key that is set names a file the conversion reads (tracked by the workflow).
        read: ``(root, layout, options) -> list[Record]`` sorted by image id.
        load_image: the loader of one image file (:data:`ImageLoader`).
        synthesize: ``(root, *, seed, **params) -> summary`` writing a look-alike in the
            format's exact layout.
        options: format-specific settings and their defaults (the dataset's config keys of
            the same name, or its ``options:`` mapping, override them).
        optional: layout keys whose file a dataset may lack (``null`` in the config, or the
            default file absent): the reader then gets ``None`` for them.
        folders: layout keys that name folders (not tracked as files by the workflow).
        targets: the findings the format can audit (the ``target`` option picks one); empty
            for single-finding formats.
        finding: the finding a single-finding format audits (reports, cheXlocalize JSON).
        task: the task its ground truth suits (``segmentation``: masks, ``detection``:
            boxes), for examples and stub configs; a dataset's ``task`` key decides.
    """

    name: str
    description: str
    layout: Mapping[str, str | None]
    read: Callable[[Path, dict, dict], list[Record]] = field(repr=False)
    load_image: ImageLoader = field(repr=False)
    synthesize: Callable[..., dict] = field(repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    folders: frozenset[str] = frozenset({"images"})
    targets: tuple[str, ...] = ()
    task: str = "segmentation"
    finding: str = ""

    def label_files(self, layout: Mapping[str, str | None]) -> list[str]:
        """The layout keys that name files read by the conversion (all but the folders)."""
        return [k for k, v in layout.items() if k not in self.folders and v is not None]


# ------------------------------------------------------------------------- lazy loaders
# The registry is read whenever the workflow parses (every cluster job too): the DICOM reader
# (pydicom, SciPy) and the synthetic writers load when first called, not with the registry.
def read_dicom_image(*args, **kwargs):
    """:func:`saliency_audit.dicom.read_image` (imported on first call)."""
    from ..dicom import read_image

    return read_image(*args, **kwargs)


def read_raster_image(*args, **kwargs):
    """:func:`saliency_audit.raster.read_image` (imported on first call)."""
    from ..raster import read_image

    return read_image(*args, **kwargs)


#: file name suffixes :func:`read_any_image` reads as raster images; any other file (``.dcm``,
#: ``.dicom``, none, or a UID-like name such as ``1.2.840.113619.2.55``) is read as DICOM
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
#: suffixes that name an image file (a file name's last dot-part otherwise belongs to its stem)
IMAGE_SUFFIXES = (*RASTER_SUFFIXES, ".dcm", ".dicom")


def read_any_image(path, **kwargs):
    """A raster image (PNG, JPEG, TIFF, BMP, by the file name's suffix) or else a DICOM."""
    if Path(path).suffix.lower() in RASTER_SUFFIXES:
        return read_raster_image(path, **kwargs)
    return read_dicom_image(path, **kwargs)


def image_stem(path) -> str:
    """``path`` without its image suffix (``p1/a.png`` -> ``p1/a``); a name whose last
    dot-part is no image suffix (a DICOM named by its UID) is kept whole."""
    text = str(path)
    suffix = Path(text).suffix
    return text[: -len(suffix)] if suffix.lower() in IMAGE_SUFFIXES else text


def lazy_writer(module: str, name: str) -> Callable[..., dict]:
    """The synthetic writer ``saliency_audit.<module>.<name>``, imported on first call;
    ``.resolve()`` gives the writer itself (its signature lists the parameters it takes)."""
    import importlib

    def resolve():
        return getattr(importlib.import_module(f"saliency_audit.{module}"), name)

    def write(*args, **kwargs):
        return resolve()(*args, **kwargs)

    write.__name__ = write.__qualname__ = name
    write.resolve = resolve
    return write


# ------------------------------------------------------------------------- shared reading
def read_label_csv(path: Path, expected: list[str] | None = None) -> pd.DataFrame:
    """A label CSV as strings (empty fields stay ``""``); with ``expected``, its header must
    be exactly those columns (spaces around names ignored; the frame gets those names)."""
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
    if expected is not None:
        found = [c.strip() for c in frame.columns]
        if found != expected:
            raise InputError(
                f"{path}: header {','.join(map(str, frame.columns))!r} does not match the "
                f"expected {','.join(expected)!r}"
            )
        frame.columns = expected
    return frame


def index_files(folder: Path, pattern: str) -> dict[str, Path]:
    """Map file stem -> path for every file matching ``pattern`` (a glob, e.g. ``**/*.dcm``)
    under ``folder``; a stem found twice is an error naming both files."""
    if not folder.is_dir():
        raise InputError(f"{folder}: image folder not found")
    found: dict[str, Path] = {}
    for path in sorted(folder.glob(pattern)):
        stem = path.stem
        if stem in found:
            raise InputError(f"{folder}: image id {stem!r} occurs twice: {found[stem]} and {path}")
        found[stem] = path
    return found


#: what a format does with labelled images that have no file (option ``missing_images``)
MISSING_IMAGES = ("error", "skip")


def locate_images(
    ids: Iterable[str],
    images_dir: Path,
    pattern: str,
    *,
    root: Path | None,
    source: Path,
    missing_images: str = "error",
    noun: str = "image",
    keep: set[str] | None = None,
    file_kind: str = "DICOM",
) -> tuple[dict[str, Path], set[str]]:
    """The files of a label CSV's images: ``(id -> path, ids to leave out)``.

    ``ids`` is the CSV's id column (data rows from line 2; empty ids are left to the caller's
    row checks, ids outside ``keep`` are not looked for). Files are indexed under
    ``images_dir`` (:func:`index_files` with ``pattern``); ids not there are looked for
    anywhere under ``root`` (e.g. SIIM's ``dicom-images-test``, RSNA's
    ``stage_2_test_images``). Ids still without a file stop the conversion with one error that
    counts and lists them, or, with ``missing_images: skip``, are returned as the ids to leave
    out, and logged."""
    if missing_images not in MISSING_IMAGES:
        raise InputError(
            f"option missing_images: {missing_images!r} is not one of {MISSING_IMAGES}"
        )
    found = index_files(images_dir, pattern)
    wanted: dict[str, int] = {}  # id -> its first CSV row
    for line, image_id in enumerate(ids, start=2):
        image_id = image_id.strip()
        if image_id and (keep is None or image_id in keep):
            wanted.setdefault(image_id, line)
    absent = [i for i in wanted if i not in found]
    if absent and root is not None and Path(root).resolve() != Path(images_dir).resolve():
        elsewhere = index_files(Path(root), "**/" + pattern.rsplit("/", 1)[-1])
        moved = [i for i in absent if i in elsewhere]
        for i in moved:
            found[i] = elsewhere[i]
        if moved:
            log.info(
                "%d of %d labelled %ss are not in %s but elsewhere under %s (e.g. %s)",
                len(moved),
                len(wanted),
                noun,
                images_dir,
                root,
                found[moved[0]].parent,
            )
        absent = [i for i in absent if i not in found]
    if not absent:
        return found, set()
    where = root if root is not None else images_dir
    report_missing(
        [(i, wanted[i]) for i in absent],
        len(wanted),
        where=where,
        source=source,
        missing_images=missing_images,
        noun=noun,
        file_kind=file_kind,
    )
    return found, set(absent)


def report_missing(
    absent: list[tuple[str, int]],
    total: int,
    *,
    where: Path,
    source: Path,
    missing_images: str = "error",
    noun: str = "image",
    file_kind: str = "image",
) -> None:
    """Labelled images without a file, ``(name, CSV row)`` of ``total``: one error that
    counts and lists them (naming option ``missing_images``), or with ``missing_images:
    skip`` a log line (the caller leaves them out). Nothing happens when ``absent`` is empty."""
    if not absent:
        return
    listing = ", ".join(f"{name!r} (row {line})" for name, line in absent[:5])
    listing += f" and {len(absent) - 5} more" if len(absent) > 5 else ""
    if missing_images == "skip":
        log.warning(
            "%s: %d of %d labelled %ss have no %s file under %s; skipped "
            "(missing_images: skip): %s",
            source,
            len(absent),
            total,
            noun,
            file_kind,
            where,
            listing,
        )
        return
    fix = "set the dataset's option missing_images: skip to leave them out"
    if len(absent) == 1:
        ((name, line),) = absent
        raise InputError(
            f"{source}, row {line}: {noun} {name!r} has no {file_kind} file under {where} ({fix})"
        )
    raise InputError(
        f"{source}: {len(absent)} of {total} labelled {noun}s have no {file_kind} file under "
        f"{where}: {listing} ({fix})"
    )


def parse_float(value: str, name: str, source: Path, line: int) -> float:
    """A finite float from a CSV field; :class:`AnnotationError` naming the row otherwise."""
    try:
        out = float(value)
    except ValueError:
        raise AnnotationError(source, line, f"{name}={value!r} is not a number") from None
    if not math.isfinite(out):
        raise AnnotationError(source, line, f"{name}={value!r} is not a finite number")
    return out


# ------------------------------------------------------------------------- targets
#: which images are the negatives of the target (option ``negatives``): every image without
#: the target finding, or only images with no finding at all ("normal")
NEGATIVES = ("absent", "normal")


def check_target(fmt: str, target: str, known: Iterable[str], source) -> str:
    """``target`` if it is one of the ``known`` findings of ``source`` (a label file);
    otherwise an :class:`InputError` naming the config key and the known findings (a
    case-insensitive match is suggested)."""
    known = list(known)
    if target in known:
        return target
    close = [k for k in known if k.lower() == str(target).lower()]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InputError(
        f"config key datasets.<name>.target: {target!r} is not a finding of {source} "
        f"({fmt}: {', '.join(map(repr, known))}){hint}"
    )


def target_label(has_target: bool, is_normal: bool, negatives: str) -> int | None:
    """The image-level label for the target: 1 with the finding; 0 without it (with
    ``negatives: normal`` only when the image has no finding at all); ``None``: left out."""
    if negatives not in NEGATIVES:
        raise InputError(f"option negatives: {negatives!r} is not one of {NEGATIVES}")
    if has_target:
        return 1
    if negatives == "absent" or is_normal:
        return 0
    return None


def log_selection(source, target: str, negatives: str, counts: Mapping[str, int]) -> None:
    """One log line: how many images the target selection kept as positives, negatives, and
    left out (with the reason)."""
    log.info(
        "%s: target %r (negatives: %s): %s",
        source,
        target,
        negatives,
        ", ".join(f"{v} {k}" for k, v in counts.items()),
    )


def drop_unannotated(records: list[Record], name: str) -> list[Record]:
    """The records without positives that lack any ground truth (a localisation audit cannot
    score them); the dropped ones are counted in the log."""
    kept = [r for r in records if not r.label or r.annotated]
    dropped = len(records) - len(kept)
    if dropped:
        example = next(r.image_id for r in records if r.label and not r.annotated)
        log.warning(
            "%s: %d of %d positive images have no ground-truth region or box and are left "
            "out (e.g. %s)",
            name,
            dropped,
            sum(r.label for r in records),
            example,
        )
    return kept
