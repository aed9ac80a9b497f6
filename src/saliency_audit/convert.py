"""A dataset's images and annotations -> memory-mapped image and mask stacks plus an index CSV.

Outputs (all written atomically):

* ``images.npy``: ``uint8 (N, S, S)`` grayscale, area-resized from the pixels the format's
  image loader gives (DICOM: VOI/windowed, MONOCHROME1 inverted so that 255 is white).
* ``masks.npy``: ``uint8 (N, S, S)`` 0/1 ground truth (SIIM regions OR-ed; RSNA boxes
  filled, inclusive after scaling).
* ``index.csv``: one row per image, ``index`` = row in the stacks.  It holds the dataset's
  public image id, a *salted hash* of PatientID (for patient-level splitting only) and
  technical fields; no patient-identifying header field is copied.
* ``boxes.csv``: ``index,image_id,x0,y0,x1,y1`` inclusive pixel boxes at size S (detection
  datasets; header only for segmentation datasets).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import dicom, imageops, io
from .errors import AnnotationError, DicomError, InputError
from .formats.base import ImageLoader, Record
from .privacy import hash_patient_id

log = logging.getLogger(__name__)

INDEX_COLUMNS = [
    "index",
    "image_id",
    "patient_hash",
    "label",
    "annotated",
    "n_regions",
    "orig_rows",
    "orig_cols",
    "photometric",
    "bits_stored",
    "transfer_syntax",
]
BOX_COLUMNS = ["index", "image_id", "x0", "y0", "x1", "y1"]
#: the files :func:`convert_dataset` writes (keys of its ``out``)
OUTPUTS = ("images", "masks", "index", "boxes")
BOX_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ConvertOptions:
    """``size``: side of the stacks; ``salt``: of the patient hash; ``load_image``: the
    format's loader; ``skip_unreadable``: log and skip images that cannot be read;
    ``allowed_modalities``: DICOM Modality values accepted (None: any);
    ``keep_unannotated``: keep positives whose ground truth is empty (``annotated`` 0 in
    ``index.csv``) instead of skipping them."""

    size: int
    salt: str
    load_image: ImageLoader = dicom.read_image
    skip_unreadable: bool = False
    allowed_modalities: frozenset[str] | None = dicom.DEFAULT_MODALITIES
    keep_unannotated: bool = False


def read_index(path) -> pd.DataFrame:
    """An ``index.csv`` written by :func:`convert_dataset` (ids and hashes kept as strings);
    it must have the ``index`` and ``image_id`` columns at least (an index without
    ``annotated``, from an earlier version, has ground truth for every image)."""
    index = pd.read_csv(path, dtype={"image_id": str, "patient_hash": str})
    missing = [c for c in INDEX_COLUMNS[:2] if c not in index.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} of an index.csv")
    if "annotated" not in index.columns and "label" in index.columns:
        index.insert(index.columns.get_loc("label") + 1, "annotated", 1)
    return index


def scorable(index: pd.DataFrame) -> pd.Series:
    """Rows whose ground truth can score a map or train a localiser: negatives, and positives
    with ground truth (``annotated``)."""
    if not {"label", "annotated"} <= set(index.columns):
        return pd.Series(True, index=index.index)
    return (index["label"] == 0) | (index["annotated"] == 1)


def read_boxes(path) -> pd.DataFrame:
    """A ``boxes.csv`` written by :func:`convert_dataset`."""
    return pd.read_csv(path, dtype={"image_id": str})


def _mask_for(rec: Record, rows: int, cols: int, size: int):
    """The record's ground truth at ``size`` and its boxes there (inclusive pixels).

    Regions are painted at the original size, OR-ed and area-resized; boxes are scaled and
    filled. With ``box_votes`` > 1 (several readers), each reader's boxes are painted at the
    original size, a pixel is ground truth where at least ``box_votes`` readers' boxes cover
    it, that vote is area-resized like a region, and the boxes written are those of its
    connected parts."""
    boxes = []
    if rec.regions:
        full = np.zeros((rows, cols), dtype=np.uint8)
        for region in rec.regions:
            region.paint(full)
        mask = imageops.resize_mask(full, (size, size))
    else:
        mask = np.zeros((size, size), dtype=np.uint8)
    votes: dict[str, np.ndarray] = {}
    for box in rec.boxes:
        if box.x + box.width > cols + BOX_TOLERANCE or box.y + box.height > rows + BOX_TOLERANCE:
            raise AnnotationError(
                rec.source,
                box.line,
                f"box x={box.x}, y={box.y}, width={box.width}, height={box.height} extends "
                f"outside the {cols}x{rows} image {rec.path.name}",
            )
        if rec.box_votes > 1:  # the pixels the box covers at the original size
            canvas = votes.setdefault(box.reader, np.zeros((rows, cols), dtype=np.uint8))
            x0, y0 = int(np.floor(box.x)), int(np.floor(box.y))
            x1, y1 = int(np.ceil(box.x + box.width)), int(np.ceil(box.y + box.height))
            canvas[y0:y1, x0:x1] = 1
            continue
        x0, y0, x1, y1 = imageops.scale_box(box.x, box.y, box.width, box.height, (rows, cols), size)
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1
        boxes.append((x0, y0, x1, y1))
    if votes:
        from scipy import ndimage  # only reader votes need it (not every job importing this)

        count = np.zeros((rows, cols), dtype=np.uint16)
        for canvas in votes.values():
            count += canvas
        voted = imageops.resize_mask((count >= rec.box_votes).astype(np.uint8), (size, size))
        mask |= voted
        labels, _ = ndimage.label(voted)
        for part in ndimage.find_objects(labels):
            boxes.append((part[1].start, part[0].start, part[1].stop - 1, part[0].stop - 1))
    return mask, boxes


def _process(args):
    rec, opts = args
    try:
        img = opts.load_image(rec.path, allowed_modalities=opts.allowed_modalities)
    except DicomError as exc:
        if opts.skip_unreadable:
            return rec, None, str(exc)
        raise
    pixels = imageops.to_uint8(imageops.resize_area(img.pixels, (opts.size, opts.size)))
    mask, boxes = _mask_for(rec, img.rows, img.cols, opts.size)
    annotated = not rec.label or bool(mask.any())
    if not annotated and not opts.keep_unannotated:
        # e.g. readers' boxes that no majority shares: a positive without ground truth
        return (
            rec,
            None,
            f"{rec.image_id}: positive, but its ground truth is empty (no reader majority?)",
        )
    meta = {
        "image_id": rec.image_id,
        "patient_hash": hash_patient_id(
            rec.patient_id or img.patient_id or rec.image_id, opts.salt
        ),
        # where the patient came from (summary only): splits are patient-level where known
        "patient_source": "label file" if rec.patient_id else "image" if img.patient_id else "none",
        "label": rec.label,
        "annotated": int(annotated),
        "n_regions": len(rec.regions) + len(rec.boxes),
        "orig_rows": img.rows,
        "orig_cols": img.cols,
        "photometric": img.photometric,
        "bits_stored": img.bits_stored,
        "transfer_syntax": img.transfer_syntax,
    }
    return rec, (pixels, mask, boxes, meta), None


def convert_dataset(
    records: list[Record],
    out: Mapping[str, str | os.PathLike],
    opts: ConvertOptions,
    *,
    threads: int = 1,
    name: str = "dataset",
) -> dict:
    """Convert ``records`` into the stacks and CSVs ``out`` (keys :data:`OUTPUTS`, e.g. the
    ``images``, ``masks``, ``index``, ``boxes`` templates of :mod:`saliency_audit.paths`);
    returns a summary.

    Raises :class:`InputError` for an empty dataset or one with no positive image, and
    :class:`DicomError` / :class:`AnnotationError` naming the file or CSV row at fault
    (unreadable DICOMs are logged and skipped instead when ``opts.skip_unreadable``).
    """
    missing = [k for k in OUTPUTS if k not in out]
    if missing:
        raise ValueError(f"convert_dataset: no output path for {', '.join(missing)}")
    if not records:
        raise InputError(f"dataset {name!r}: no labelled images found")
    if not any(r.label for r in records):
        raise InputError(
            f"dataset {name!r}: no positive images among {len(records)}; "
            "a trust audit needs lesions to localise"
        )
    n, size = len(records), opts.size
    start = time.perf_counter()
    metas, boxes_rows, skipped = [], [], []
    partial = {}
    for key in ("images", "masks"):
        final = Path(out[key])
        final.parent.mkdir(parents=True, exist_ok=True)
        partial[key] = final.with_name(f".partial-{final.name}")
    try:
        stacks = {
            key: np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, size, size))
            for key, path in partial.items()
        }
        jobs = ((rec, opts) for rec in records)
        pool = multiprocessing.get_context("fork").Pool(threads) if threads > 1 else None
        results = pool.imap(_process, jobs, chunksize=4) if pool else map(_process, jobs)
        try:
            step = max(1, n // 10)
            for done, (rec, result, error) in enumerate(results, start=1):
                if result is None:
                    log.warning("skipped image: %s", error)
                    skipped.append({"image_id": rec.image_id, "reason": error})
                else:
                    pixels, mask, boxes, meta = result
                    row = len(metas)
                    stacks["images"][row], stacks["masks"][row] = pixels, mask
                    metas.append({"index": row, **meta})
                    boxes_rows.extend((row, rec.image_id, *b) for b in boxes)
                if done % step == 0 or done == n:
                    rate = done / (time.perf_counter() - start)
                    log.info("%s: %d/%d images converted (%.1f images/s)", name, done, n, rate)
        finally:
            if pool:
                pool.terminate()
        kept = len(metas)
        if kept == 0:
            raise InputError(f"dataset {name!r}: every image was unreadable")
        index = pd.DataFrame(metas, columns=INDEX_COLUMNS)
        if not index["label"].any():
            raise InputError(f"dataset {name!r}: no readable positive images remain")
        for key, stack in stacks.items():
            final = Path(out[key])
            if kept == n:  # the common case: the partial file is complete, rename it
                stack.flush()
                partial[key].replace(final)
            else:
                with io.open_memmap_atomic(final, (kept, size, size), np.uint8) as dest:
                    dest[:] = stack[:kept]
        stacks.clear()
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)
    sources = pd.Series([m["patient_source"] for m in metas]).value_counts().to_dict()
    if sources.get("none"):
        log.warning(
            "%s: %d of %d images have no patient id (neither in the label file nor in the "
            "image): each counts as its own patient in the split; give the dataset a "
            "split_csv for a patient-level split",
            name,
            sources["none"],
            kept,
        )
    io.write_csv(out["index"], index)
    io.write_csv(out["boxes"], pd.DataFrame(boxes_rows, columns=BOX_COLUMNS))
    seconds = time.perf_counter() - start
    summary = {
        "dataset": name,
        "images": kept,
        "positives": int(index["label"].sum()),
        "unannotated_positives": int((~scorable(index)).sum()),
        "patient_ids": {k: int(v) for k, v in sorted(sources.items())},
        "skipped": skipped,
        "size": size,
        "seconds": round(seconds, 3),
        "images_per_second": round(n / seconds, 2) if seconds > 0 else None,
    }
    log.info(
        "%s: %d images (%d positive, %d skipped) in %.1f s",
        name,
        kept,
        summary["positives"],
        len(skipped),
        seconds,
    )
    return summary
