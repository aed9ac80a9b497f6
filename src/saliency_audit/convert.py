"""DICOM dataset -> memory-mapped image and mask stacks plus an index CSV.

Outputs (all written atomically):

* ``images.npy``: ``uint8 (N, S, S)`` grayscale, area-resized from the VOI/windowed
  DICOM pixels (MONOCHROME1 inverted so that 255 is white).
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
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import dicom, imageops, io
from . import rle as rle_mod
from .datasets import Record
from .errors import AnnotationError, DicomError, InputError
from .privacy import hash_patient_id

log = logging.getLogger(__name__)

INDEX_COLUMNS = [
    "index",
    "image_id",
    "patient_hash",
    "label",
    "n_regions",
    "orig_rows",
    "orig_cols",
    "photometric",
    "bits_stored",
    "transfer_syntax",
]
BOX_COLUMNS = ["index", "image_id", "x0", "y0", "x1", "y1"]
BOX_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ConvertOptions:
    size: int
    salt: str
    labels_csv: str
    rle_mode: str = "relative"
    skip_unreadable: bool = False
    allowed_modalities: frozenset[str] | None = frozenset({"CR", "DX", "DR", "RG", "OT"})


def _mask_for(rec: Record, rows: int, cols: int, opts: ConvertOptions):
    size = opts.size
    boxes = []
    if rec.rles:
        full = np.zeros((rows, cols), dtype=np.uint8)
        for encoded, line in rec.rles:
            rle_mod.decode(
                encoded, (rows, cols), opts.rle_mode, out=full, source=opts.labels_csv, row=line
            )
        mask = imageops.resize_mask(full, (size, size))
    else:
        mask = np.zeros((size, size), dtype=np.uint8)
    for box in rec.boxes:
        if box.x + box.width > cols + BOX_TOLERANCE or box.y + box.height > rows + BOX_TOLERANCE:
            raise AnnotationError(
                opts.labels_csv,
                box.line,
                f"box x={box.x}, y={box.y}, width={box.width}, height={box.height} extends "
                f"outside the {cols}x{rows} image {rec.path.name}",
            )
        x0, y0, x1, y1 = imageops.scale_box(box.x, box.y, box.width, box.height, (rows, cols), size)
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1
        boxes.append((x0, y0, x1, y1))
    return mask, boxes


def _process(args):
    rec, opts = args
    try:
        img = dicom.read_image(rec.path, allowed_modalities=opts.allowed_modalities)
    except DicomError as exc:
        if opts.skip_unreadable:
            return rec, None, str(exc)
        raise
    pixels = imageops.to_uint8(imageops.resize_area(img.pixels, (opts.size, opts.size)))
    mask, boxes = _mask_for(rec, img.rows, img.cols, opts)
    meta = {
        "image_id": rec.image_id,
        "patient_hash": hash_patient_id(img.patient_id or rec.image_id, opts.salt),
        "label": rec.label,
        "n_regions": len(rec.rles) + len(rec.boxes),
        "orig_rows": img.rows,
        "orig_cols": img.cols,
        "photometric": img.photometric,
        "bits_stored": img.bits_stored,
        "transfer_syntax": img.transfer_syntax,
    }
    return rec, (pixels, mask, boxes, meta), None


def convert_dataset(
    records: list[Record],
    out_dir: str | Path,
    opts: ConvertOptions,
    *,
    threads: int = 1,
    name: str = "dataset",
) -> dict:
    """Convert ``records`` into the stacks and CSVs under ``out_dir``; returns a summary.

    Raises :class:`InputError` for an empty dataset or one with no positive image, and
    :class:`DicomError` / :class:`AnnotationError` naming the file or CSV row at fault
    (unreadable DICOMs are logged and skipped instead when ``opts.skip_unreadable``).
    """
    out_dir = Path(out_dir)
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
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = {key: out_dir / f".partial-{key}.npy" for key in ("images", "masks")}
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
                    log.warning("skipped unreadable image: %s", error)
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
            final = out_dir / f"{key}.npy"
            if kept == n:  # the common case: the partial file is complete, rename it
                stack.flush()
                partial[key].replace(final)
            else:
                with io.open_memmap_atomic(final, (kept, size, size), np.uint8) as out:
                    out[:] = stack[:kept]
        stacks.clear()
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)
    io.write_csv(out_dir / "index.csv", index)
    io.write_csv(out_dir / "boxes.csv", pd.DataFrame(boxes_rows, columns=BOX_COLUMNS))
    seconds = time.perf_counter() - start
    summary = {
        "dataset": name,
        "images": kept,
        "positives": int(index["label"].sum()),
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
