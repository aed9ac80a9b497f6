"""Ground-truth regions a label file gives at the original image size.

Each region paints itself into a ``uint8 (rows, cols)`` canvas (OR-ed, 1 = lesion) once the
image's size is known; errors name the label file and row (or JSON key) it came from. A
format's reader puts them in :attr:`~.base.Record.regions`; boxes stay
:class:`~.base.Box` es, because they are also written to ``boxes.csv``.

* :class:`RleRegion`: a SIIM run-length string (column-major, relative or absolute starts).
* :class:`CocoRleRegion`: a COCO RLE ``{"size": [h, w], "counts": ...}`` (CheXlocalize's
  segmentation JSON).
* :class:`PolygonRegion`: polygons ``[[x, y], ...]`` filled with their outline, as
  cheXlocalize's ``annotation_to_segmentation.py`` draws them (PIL ``ImageDraw.polygon``).
* :class:`MaskFileRegion`: a mask image file, nonzero = lesion (the ``folder`` format).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AnnotationError, InputError


def _check_size(size, rows: int, cols: int, source: str, where, what: str) -> None:
    if size is not None and (int(size[0]), int(size[1])) != (rows, cols):
        raise AnnotationError(
            source,
            where,
            f"{what} is {int(size[0])}x{int(size[1])} (rows x cols) but the image is {rows}x{cols}",
        )


@dataclass(frozen=True)
class RleRegion:
    """A SIIM ``EncodedPixels`` string; ``mode`` relative or absolute (:mod:`..rle`)."""

    encoded: str
    mode: str
    source: str
    line: int

    def paint(self, canvas: np.ndarray) -> None:
        from .. import rle

        rle.decode(
            self.encoded, canvas.shape, self.mode, out=canvas, source=self.source, row=self.line
        )


@dataclass(frozen=True)
class CocoRleRegion:
    """A COCO RLE dict (``counts`` as text or a list of run lengths) for one image and
    finding; ``line`` names its place in the JSON (``"<image id> / <finding>"``)."""

    rle: dict
    source: str
    line: str

    def paint(self, canvas: np.ndarray) -> None:
        from pycocotools import mask as mask_utils

        rle = self.rle
        if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
            raise AnnotationError(self.source, self.line, "expected {'size': [h, w], 'counts'}")
        rows, cols = canvas.shape
        _check_size(rle["size"], rows, cols, self.source, self.line, "the segmentation")
        counts = rle["counts"]
        obj = {"size": [rows, cols], "counts": counts}
        try:
            if isinstance(counts, list):  # uncompressed RLE
                obj = mask_utils.frPyObjects(obj, rows, cols)
            else:
                obj["counts"] = counts.encode("ascii") if isinstance(counts, str) else counts
            decoded = mask_utils.decode(obj)
        except Exception as exc:  # pycocotools raises bare Exceptions on corrupt counts
            why = f"cannot decode the RLE ({exc})"
            raise AnnotationError(self.source, self.line, why) from None
        canvas |= decoded.astype(np.uint8)


@dataclass(frozen=True)
class PolygonRegion:
    """Contours ``[[[x, y], ...], ...]`` in pixels; ``size``: the ``img_size`` ``[h, w]``
    stated beside them (checked against the image), or ``None``."""

    polygons: list
    size: tuple[int, int] | None
    source: str
    line: str

    def paint(self, canvas: np.ndarray) -> None:
        from PIL import Image, ImageDraw

        rows, cols = canvas.shape
        _check_size(self.size, rows, cols, self.source, self.line, "img_size")
        drawing = Image.new("1", (cols, rows))
        draw = ImageDraw.Draw(drawing)
        for k, polygon in enumerate(self.polygons):
            try:
                points = [(float(p[0]), float(p[1])) for p in polygon]
            except (TypeError, ValueError, IndexError):
                raise AnnotationError(
                    self.source, self.line, f"contour {k} is not a list of [x, y] points"
                ) from None
            if len(points) == 1:  # PIL refuses a one-point polygon: one pixel
                draw.point(points, fill=1)
            elif points:  # as annotation_to_segmentation.py: two points draw a line
                draw.polygon(points, outline=1, fill=1)
        canvas |= np.asarray(drawing, dtype=np.uint8)


@dataclass(frozen=True)
class MaskFileRegion:
    """A mask image (PNG, any bit depth; nonzero = lesion) of the image's size."""

    path: Path
    source: str
    line: int

    def paint(self, canvas: np.ndarray) -> None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.path) as im:
                mask = np.asarray(im)
        except (OSError, UnidentifiedImageError) as exc:
            raise InputError(f"{self.path}: cannot read the mask image ({exc})") from None
        if mask.ndim == 3:  # colour: any colour channel; an alpha channel is no lesion
            mask = mask[..., :3].max(axis=2) if mask.shape[2] >= 3 else mask[..., 0]
        rows, cols = canvas.shape
        if mask.shape != (rows, cols):
            raise InputError(
                f"{self.path}: mask is {mask.shape[0]}x{mask.shape[1]} (rows x cols) but its "
                f"image is {rows}x{cols}"
            )
        canvas |= (mask > 0).astype(np.uint8)
