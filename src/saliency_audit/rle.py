"""SIIM-ACR run-length encoding of pneumothorax masks.

The Kaggle SIIM-ACR ``train-rle.csv`` encodes each region as space-separated
``start length`` pairs over the *column-major* (Fortran-order) flattening of the image.
In the stage-1 ("relative") form the first start is absolute and every later start is
the gap after the end of the previous run; ``-1`` means no pneumothorax.  Some copies of
the data use the standard "absolute" form in which every start is an absolute 0-based
offset.  Both are supported here; the encoder writes the relative form by default.
"""

from __future__ import annotations

import numpy as np

from .errors import AnnotationError

NO_MASK = "-1"
MODES = ("relative", "absolute")


def _tokens(rle: str, source, row) -> np.ndarray:
    text = str(rle).strip()
    if not text:
        raise AnnotationError(source, row, "empty EncodedPixels (use -1 for no pneumothorax)")
    parts = text.split()
    for part in parts:
        digits = part[1:] if part.startswith("-") else part
        if not (digits.isascii() and digits.isdigit()):
            raise AnnotationError(source, row, f"EncodedPixels token {part!r} is not an integer")
    try:
        values = np.array([int(p) for p in parts], dtype=np.int64)
    except OverflowError:
        raise AnnotationError(source, row, "EncodedPixels has a number out of range") from None
    if values.size % 2:
        raise AnnotationError(
            source,
            row,
            f"EncodedPixels has an odd number of tokens ({values.size}); "
            "expected 'start length' pairs",
        )
    return values


def is_empty(rle) -> bool:
    """True for the ``-1`` (no pneumothorax) marker, with or without the leading space."""
    return str(rle).strip() == NO_MASK


def decode(
    rle: str,
    shape: tuple[int, int],
    mode: str = "relative",
    out: np.ndarray | None = None,
    source="EncodedPixels",
    row=None,
) -> np.ndarray:
    """Decode one SIIM RLE string into a ``uint8`` mask of ``shape`` (rows, cols).

    When ``out`` is given, the decoded runs are OR-ed into it (SIIM lists one row per
    region of the same image).  ``-1`` decodes to an empty mask.  Malformed strings raise
    :class:`AnnotationError` naming ``source`` and ``row``.
    """
    if mode not in MODES:
        raise ValueError(f"unknown RLE mode {mode!r}; expected one of {MODES}")
    rows, cols = int(shape[0]), int(shape[1])
    if out is None:
        out = np.zeros((rows, cols), dtype=np.uint8)
    if is_empty(rle):
        return out
    values = _tokens(rle, source, row)
    starts, lengths = values[0::2], values[1::2]
    if (lengths <= 0).any():
        raise AnnotationError(source, row, "EncodedPixels has a run length <= 0")
    if (starts < 0).any():
        raise AnnotationError(source, row, "EncodedPixels has a negative start")
    if mode == "relative":
        ends = np.cumsum(starts + lengths)
        starts = ends - lengths
    else:
        back = np.flatnonzero(np.diff(starts) <= 0)
        if back.size:  # relative-encoded data read as absolute: no error, but garbage masks
            k = int(back[0])
            raise AnnotationError(
                source,
                row,
                f"EncodedPixels run starts do not increase (start {int(starts[k + 1])} after "
                f"{int(starts[k])}), which absolute RLE requires; the data look relative "
                "(stage-1) encoded: set the dataset's option rle_mode: relative",
            )
        ends = starts + lengths
    total = rows * cols
    if (ends > total).any():
        raise AnnotationError(
            source,
            row,
            f"EncodedPixels runs past the end of a {rows}x{cols} image "
            f"(pixel {int(ends.max())} > {total})",
        )
    # Mark run boundaries with +1/-1 and integrate: O(pixels) and vectorised.
    delta = np.zeros(total + 1, dtype=np.int32)
    np.add.at(delta, starts, 1)
    np.add.at(delta, ends, -1)
    runs = (np.cumsum(delta[:-1]) > 0).reshape((rows, cols), order="F")
    out |= runs.astype(out.dtype)
    return out


def encode(mask: np.ndarray, mode: str = "relative") -> str:
    """Encode a 2-D binary mask in SIIM RLE (``-1`` when the mask is empty)."""
    if mode not in MODES:
        raise ValueError(f"unknown RLE mode {mode!r}; expected one of {MODES}")
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    flat = (mask.T.reshape(-1) != 0).astype(np.int8)
    padded = np.concatenate([[0], flat, [0]])
    edges = np.flatnonzero(np.diff(padded))
    if edges.size == 0:
        return NO_MASK
    starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    if mode == "relative":
        prev_ends = np.concatenate([[0], ends[:-1]])
        starts = starts - prev_ends
    return " ".join(f"{s} {n}" for s, n in zip(starts.tolist(), lengths.tolist(), strict=True))
