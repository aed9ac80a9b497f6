"""PNG, JPEG and TIFF radiographs -> grayscale pixels in [0, 1] (white = 1).

The counterpart of :func:`saliency_audit.dicom.read_image` for formats that ship raster
files (NIH ChestX-ray14 PNGs, CheXpert JPEGs, a folder of images):

* 8-bit images (``L``) are taken as displayed: value / 255;
* 16-bit images (``I;16``, ``I``) hold 10-16 bit detector values with no stated window:
  they are min-max scaled over the image, as DICOMs without a window are;
* colour images (``RGB``, a few of the NIH PNGs are ``RGBA``) become luminance (ITU-R 601,
  Pillow's ``convert("L")``), the alpha channel ignored; palette and 1-bit images likewise.

Errors name the file.
"""

from __future__ import annotations

import os

import numpy as np

from .dicom import DicomImage
from .errors import DicomError


def read_image(path: str | os.PathLike[str], *, allowed_modalities=None) -> DicomImage:
    """Read a raster image as a :class:`~saliency_audit.dicom.DicomImage` record
    (``photometric``: the Pillow mode it had, ``transfer_syntax``: its file format,
    ``bits_stored``: 8 or 16, no ``patient_id``). ``allowed_modalities`` is ignored (a raster
    file has no Modality); it is accepted so that every loader is called alike."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            mode, fmt = im.mode, im.format or ""
            if getattr(im, "n_frames", 1) > 1:
                raise DicomError(path, f"{im.n_frames} frames; expected a single image")
            if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(im, dtype=np.float64)
                bits = 16
                lo, hi = float(arr.min()), float(arr.max())
                pixels = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
            else:
                gray = im if mode == "L" else im.convert("L")
                pixels = np.asarray(gray, dtype=np.float64) / 255.0
                bits = 8
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DicomError(path, f"cannot read as an image ({exc})") from None
    rows, cols = pixels.shape
    return DicomImage(
        pixels=pixels.astype(np.float32),
        rows=rows,
        cols=cols,
        photometric=mode,
        bits_stored=bits,
        transfer_syntax=fmt,
        modality="",
        patient_id="",
    )
