"""Several findings per synthetic image: the plan the multi-label look-alikes share.

The CheXlocalize, NIH, VinDr and folder look-alikes label each image with any of three
findings a phantom can show (:data:`~.phantom.KINDS`): ``pneumothorax`` (air pockets, one
mask per pocket), ``pneumonia`` (patchy opacities, one box each) and ``cardiomegaly`` (an
enlarged heart, its silhouette). Each format writes them under its own names (e.g.
``Lung Opacity`` / ``Airspace Opacity`` / ``Infiltration``) in its own files.

Per finding exactly ``round(n_images * positive_rate)`` images carry it, chosen
independently per finding, so an image can carry several and about
``(1 - positive_rate) ** len(findings)`` of the images carry none (``No finding``).
``round(n * shortcut_rate)`` images with the first finding carry the shortcut marker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import dicom_writer as dw
from .phantom import KINDS, Phantom, draw_phantom


@dataclass
class FindingsImage:
    """One planned image: its findings (in :data:`KINDS` order), shortcut flag, phantom."""

    index: int
    kinds: tuple[str, ...]
    shortcut: bool
    phantom: Phantom

    def instances(self, kind: str) -> list[np.ndarray]:
        """``uint8 (S, S)`` 0/1 masks, one per instance of ``kind`` (none if absent)."""
        if kind not in self.kinds:
            return []
        ph = self.phantom
        if kind == "pneumothorax":
            return list(ph.regions)
        if kind == "cardiomegaly":
            return [ph.heart]
        out = []
        for x, y, w, h in ph.boxes:
            box = np.zeros(ph.image.shape, dtype=np.uint8)
            box[y : y + h, x : x + w] = 1
            out.append(box)
        return out

    def boxes(self, kind: str) -> list[tuple[int, int, int, int]]:
        """``(x, y, width, height)`` per instance of ``kind``: the tight box of each mask."""
        out = []
        for mask in self.instances(kind):
            rows = np.flatnonzero(mask.any(axis=1))
            cols = np.flatnonzero(mask.any(axis=0))
            x, y = int(cols[0]), int(rows[0])
            out.append((x, y, int(cols[-1]) - x + 1, int(rows[-1]) - y + 1))
        return out


def check_findings(findings) -> tuple[str, ...]:
    """The findings to plant, checked: a non-empty list of :data:`KINDS`, no repeats."""
    findings = tuple(findings)
    if not findings or len(set(findings)) != len(findings) or set(findings) - set(KINDS):
        raise InputError(f"synth parameter findings={list(findings)!r}: expected some of {KINDS}")
    return findings


@dw.plans(dw.check_plan)
def findings_images(
    stream: int, /, *, findings: tuple[str, ...] | list[str] = KINDS, **plan
) -> tuple[list[tuple[str, ...]], Iterator[FindingsImage]]:
    """Plan ``n_images`` images with ``findings`` (parameters checked now): returns each
    image's findings (to write labels before drawing) and an iterator that draws the
    phantoms lazily, in index order. ``stream`` separates a format's random streams."""
    n_images, positive_rate, size, seed, shortcut_rate = dw.check_plan(**plan)
    findings = check_findings(findings)
    rng = np.random.default_rng([seed, stream])
    n_pos = dw.split_count(n_images, positive_rate)
    has = {k: np.zeros(n_images, dtype=bool) for k in findings}
    for kind in findings:
        has[kind][rng.choice(n_images, n_pos, replace=False)] = True
    shortcut = np.zeros(n_images, dtype=bool)
    first = np.flatnonzero(has[findings[0]])
    shortcut[rng.choice(first, dw.split_count(n_pos, shortcut_rate), replace=False)] = True
    kinds = [tuple(k for k in KINDS if k in has and has[k][i]) for i in range(n_images)]

    def generate() -> Iterator[FindingsImage]:
        for i in range(n_images):
            image_rng = np.random.default_rng([seed, stream, 1, i])
            phantom = draw_phantom(image_rng, size, lesions=kinds[i], shortcut=bool(shortcut[i]))
            yield FindingsImage(i, kinds[i], bool(shortcut[i]), phantom)

    return kinds, generate()


def write_png(path, pixels: np.ndarray) -> None:
    """An 8-bit grayscale PNG (atomically; bytes depend only on the pixels)."""
    from PIL import Image

    from ..io import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(pixels)).save(tmp, format="PNG", optimize=False)


def write_jpeg(path, pixels: np.ndarray, quality: int = dw.JPEG_QUALITY) -> None:
    """An 8-bit grayscale baseline JPEG (atomically)."""
    from ..io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(dw.encode_jpeg(np.ascontiguousarray(pixels), quality))
