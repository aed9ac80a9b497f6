"""Synthetic look-alikes of real chest-radiograph datasets (stage 1), one writer per format.

Real DICOM files (8-bit MONOCHROME2, JPEG Baseline) and the real label CSV formats, with
phantom radiographs whose lesions a small CNN can learn: pneumothorax-like regions with
masks (SIIM) and pneumonia-like opacities with boxes (RSNA).  Everything is seeded.  Each
format's record in :data:`saliency_audit.formats.FORMATS` names its writer.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from ..errors import InputError
from .dicom_writer import write_cr_dicom
from .phantom import Phantom, draw_phantom
from .rsna import rsna_records, write_rsna
from .siim import siim_records, write_siim

_PAPER_CONFIG = Path(__file__).resolve().parents[3] / "configs/paper.yaml"

__all__ = [
    "Phantom",
    "draw_phantom",
    "paper_config_for_format",
    "rsna_records",
    "siim_records",
    "synthesize",
    "write_cr_dicom",
    "write_layout_stubs",
    "write_rsna",
    "write_siim",
]


def _keywords(writer) -> tuple[set[str], set[str]]:
    """(allowed, required) keyword parameters of ``writer`` (and of the records function whose
    ``**plan`` it takes, see :func:`~.dicom_writer.plans`) other than ``root``/``seed``."""
    fns = [writer]
    while getattr(fns[-1], "planner", None) is not None:
        fns.append(fns[-1].planner)
    params = [
        p
        for fn in fns
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "seed"
    ]
    return {p.name for p in params}, {p.name for p in params if p.default is p.empty}


def synthesize(fmt: str, root: str | os.PathLike, params: dict, seed: int) -> dict:
    """Write a synthetic dataset of format ``fmt`` (e.g. ``"siim"``, ``"rsna"``) to ``root``.

    ``params`` holds the keyword arguments of the format's writer (:func:`write_siim`,
    :func:`write_rsna`, ...; for example ``{"n_images": 200, "positive_rate": 0.3, "size":
    1024}``); an unknown or missing key raises :class:`InputError` naming it.  Returns the
    writer's summary.
    """
    from ..formats import get_format

    writer = get_format(fmt).synthesize
    writer = writer.resolve() if hasattr(writer, "resolve") else writer  # formats.lazy_writer
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


def write_layout_stubs(
    root: str | os.PathLike,
    config: str | os.PathLike | None = None,
    keras_home: str | os.PathLike | None = None,
) -> None:
    """Small synthetic datasets at the dataset roots of ``config`` (default
    ``configs/paper.yaml``), relative to ``root``: the real layouts, enough for a dry run of
    that config. With ``keras_home``, also empty stand-ins of Keras' ImageNet weight files
    under ``keras_home/models`` (a dry run checks that they exist, it does not read them)."""
    import yaml

    from ..models.registry import ARCHITECTURES

    config = Path(config) if config else _PAPER_CONFIG
    datasets = yaml.safe_load(config.read_text())["datasets"]
    for k, ds in enumerate(datasets.values()):
        params = {"n_images": 10, "positive_rate": 0.5, "size": 64}
        synthesize(ds["format"], Path(root) / ds["root"], params, seed=k)
    if keras_home is not None:
        folder = Path(keras_home) / "models"
        folder.mkdir(parents=True, exist_ok=True)
        for arch in ARCHITECTURES.values():
            if arch.imagenet_file:
                (folder / arch.imagenet_file).touch()


def paper_config_for_format(fmt: str, workdir: str | os.PathLike) -> Path:
    """``configs/paper.yaml`` with its datasets replaced by one dataset of format ``fmt``
    (root ``data/<fmt>``, the format's usual task), written to ``workdir``; its path. With
    :func:`write_layout_stubs` on it, the paper-scale DAG of that format can be planned."""
    import yaml

    from ..formats import get_format

    config = yaml.safe_load(_PAPER_CONFIG.read_text())
    task = get_format(fmt).task
    config["datasets"] = {fmt: {"format": fmt, "task": task, "root": f"data/{fmt}"}}
    path = Path(workdir) / f"paper-{fmt}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
