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
from typing import Any

import pandas as pd

from ..errors import AnnotationError, InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Box:
    """A box in original pixels: top-left ``x, y`` and ``width, height``; ``line``: its row in
    the label file."""

    x: float
    y: float
    width: float
    height: float
    line: int


@dataclass
class Record:
    """One labelled image: its id, file, image-level label and raw annotations.

    ``rles``: ``(encoded, line)`` run-length encoded regions (decoded with ``rle_mode``, OR-ed);
    ``boxes``: :class:`Box` es; ``source``: the label file they came from (named in errors).
    """

    image_id: str
    path: Path
    label: int
    rles: list[tuple[str, int]] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    source: str = ""
    rle_mode: str = "relative"


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
    """

    name: str
    description: str
    layout: Mapping[str, str | None]
    read: Callable[[Path, dict, dict], list[Record]] = field(repr=False)
    load_image: ImageLoader = field(repr=False)
    synthesize: Callable[..., dict] = field(repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()

    def label_files(self, layout: Mapping[str, str | None]) -> list[str]:
        """The layout keys that name files read by the conversion (all but ``images``)."""
        return [k for k, v in layout.items() if k != "images" and v is not None]


# ------------------------------------------------------------------------- lazy loaders
# The registry is read whenever the workflow parses (every cluster job too): the DICOM reader
# (pydicom, SciPy) and the synthetic writers load when first called, not with the registry.
def read_dicom_image(*args, **kwargs):
    """:func:`saliency_audit.dicom.read_image` (imported on first call)."""
    from ..dicom import read_image

    return read_image(*args, **kwargs)


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
        elsewhere = index_files(Path(root), "**/*.dcm")
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
    listing = ", ".join(f"{i!r} (row {wanted[i]})" for i in absent[:5])
    listing += f" and {len(absent) - 5} more" if len(absent) > 5 else ""
    if missing_images == "skip":
        log.warning(
            "%s: %d of %d labelled %ss have no DICOM file under %s; skipped "
            "(missing_images: skip): %s",
            source,
            len(absent),
            len(wanted),
            noun,
            where,
            listing,
        )
        return found, set(absent)
    fix = "set the dataset's option missing_images: skip to leave them out"
    if len(absent) == 1:
        (i,) = absent
        raise InputError(
            f"{source}, row {wanted[i]}: {noun} {i!r} has no DICOM file under {where} ({fix})"
        )
    raise InputError(
        f"{source}: {len(absent)} of {len(wanted)} labelled {noun}s have no DICOM file under "
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
