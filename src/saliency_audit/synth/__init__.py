"""Synthetic look-alikes of the SIIM-ACR and RSNA chest-radiograph datasets (stage 1).

Real DICOM files (8-bit MONOCHROME2, JPEG Baseline) and the real label CSV formats, with
phantom radiographs whose lesions a small CNN can learn: pneumothorax-like regions with
masks (SIIM) and pneumonia-like opacities with boxes (RSNA).  Everything is seeded.
"""

from __future__ import annotations

import inspect
import os

from ..errors import InputError
from . import rsna, siim
from .dicom_writer import write_cr_dicom
from .phantom import Phantom, draw_phantom
from .rsna import rsna_records, write_rsna
from .siim import siim_records, write_siim

WRITERS = {"siim": write_siim, "rsna": write_rsna}

__all__ = [
    "Phantom",
    "draw_phantom",
    "rsna_records",
    "siim_records",
    "synthesize",
    "write_cr_dicom",
    "write_layout_stubs",
    "write_rsna",
    "write_siim",
]


def _keywords(writer) -> tuple[set[str], set[str]]:
    """(allowed, required) keyword parameters of ``writer`` other than ``root``/``seed``."""
    params = [
        p
        for p in inspect.signature(writer).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "seed"
    ]
    return {p.name for p in params}, {p.name for p in params if p.default is p.empty}


def synthesize(fmt: str, root: str | os.PathLike, params: dict, seed: int) -> dict:
    """Write a synthetic dataset of format ``fmt`` (``"siim"`` or ``"rsna"``) to ``root``.

    ``params`` holds the keyword arguments of :func:`write_siim` / :func:`write_rsna`
    (for example ``{"n_images": 200, "positive_rate": 0.3, "size": 1024}``); an unknown or
    missing key raises :class:`InputError` naming it.  Returns the writer's summary.
    """
    if fmt not in WRITERS:
        raise InputError(
            f"synthesize: unknown dataset format {fmt!r}; expected one of {sorted(WRITERS)}"
        )
    writer = WRITERS[fmt]
    allowed, required = _keywords(writer)
    params = dict(params or {})
    for key in params:
        if key not in allowed:
            raise InputError(
                f"synthesize {fmt}: unknown parameter {key!r}; expected some of {sorted(allowed)}"
            )
    for key in sorted(required - set(params)):
        raise InputError(f"synthesize {fmt}: missing parameter {key!r}")
    return writer(root, seed=seed, **params)


def write_layout_stubs(root: str | os.PathLike) -> None:
    """Stub files in the real layouts at the dataset roots of ``configs/paper.yaml`` under
    ``root`` (``data/siim-acr``, ``data/rsna-pneumonia``): enough for a dry run of that config,
    which reads nothing."""
    from pathlib import Path

    ds = Path(root) / "data/siim-acr"
    (ds / siim.IMAGE_DIR / "s/t").mkdir(parents=True)
    (ds / siim.IMAGE_DIR / "s/t/1.2.3.dcm").touch()
    (ds / siim.LABELS).write_text("ImageId, EncodedPixels\n1.2.3, -1\n")
    ds = Path(root) / "data/rsna-pneumonia"
    (ds / rsna.IMAGE_DIR).mkdir(parents=True)
    (ds / rsna.LABELS).write_text("patientId,x,y,width,height,Target\n")
    (ds / rsna.CLASS_INFO).write_text("patientId,class\n")
