"""Dataset formats: one module per real download layout, one registry line each.

>>> records = read_dataset("siim", "data/siim-acr")                    # doctest: +SKIP
>>> get_format("rsna").layout["labels"]
'stage_2_train_labels.csv'

A format module defines a :class:`~.base.DatasetFormat` record ``FORMAT`` (layout, label
reader, image loader, options, synthetic writer); adding a format is that module, its line in
:data:`FORMATS`, its synthetic writer and a test (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import chexlocalize, folder, nih, rsna, siim, vindr
from .base import Box, DatasetFormat, Record, drop_unannotated

log = logging.getLogger(__name__)

FORMATS: dict[str, DatasetFormat] = {
    f.name: f
    for f in (
        siim.FORMAT,
        rsna.FORMAT,
        chexlocalize.FORMAT,
        nih.FORMAT,
        vindr.FORMAT,
        folder.FORMAT,
    )
}
#: every format's option names: a dataset's config key of one of these names must be an
#: option of its own format (``target`` on a SIIM dataset is an error, not ignored)
OPTION_KEYS = frozenset(k for f in FORMATS.values() for k in f.options)

__all__ = ["FORMATS", "Box", "DatasetFormat", "Record", "get_format", "read_dataset"]


def get_format(name: str) -> DatasetFormat:
    """The registered format ``name``; :class:`InputError` naming the known ones."""
    if name not in FORMATS:
        raise InputError(f"unknown dataset format {name!r}; expected one of {tuple(FORMATS)}")
    return FORMATS[name]


def dataset_layout(
    fmt: DatasetFormat, overrides: Mapping[str, Any] | None = None, root: str | Path | None = None
) -> dict:
    """The format's default layout with the non-null ``overrides`` of its keys. An optional
    key (``fmt.optional``) set to null, or left at a default file that is absent under
    ``root``, becomes ``None`` (the reader goes without it)."""
    overrides = overrides or {}
    layout = {}
    for key, default in fmt.layout.items():
        value = overrides.get(key) or default
        if key in fmt.optional:
            explicit_null = key in overrides and overrides[key] is None
            defaulted = root is not None and not overrides.get(key)
            absent = defaulted and not (Path(root) / value).exists()
            if explicit_null or absent:
                value = None
        layout[key] = value
    return layout


def dataset_options(fmt: DatasetFormat, settings: Mapping[str, Any] | None = None) -> dict:
    """The format's options: defaults, then ``settings`` of the same names (a dataset's config
    keys and its ``options:`` mapping); an option the format does not have is an error."""
    settings = dict(settings or {})
    nested = settings.pop("options", None) or {}
    others = sorted(k for k in OPTION_KEYS - set(fmt.options) if settings.get(k) is not None)
    if others:
        raise InputError(
            f"format {fmt.name!r} has no option(s) {', '.join(others)} (its options: "
            f"{', '.join(fmt.options) or 'none'})"
        )
    unknown = sorted(set(nested) - set(fmt.options))
    if unknown:
        have = ", ".join(fmt.options) or "none"
        raise InputError(
            f"format {fmt.name!r} has no option(s) {', '.join(unknown)} (its options: {have})"
        )
    out = dict(fmt.options)
    out.update({k: settings[k] for k in fmt.options if settings.get(k) is not None})
    out.update(nested)
    return out


#: what happens to positives without any ground truth (a dataset's ``unannotated`` key)
UNANNOTATED = ("drop", "train")


def read_dataset(
    fmt: str,
    root: str | Path,
    layout: Mapping | None = None,
    options: Mapping | None = None,
    unannotated: str = "drop",
) -> list[Record]:
    """The labelled images of a dataset of format ``fmt`` under ``root``: layout overrides
    (relative to ``root``) and options as in the config. Positives without any ground truth
    are left out (``unannotated: drop``) or kept to train and validate the classifiers only
    (``train``: the split keeps them out of the test split, localisers do not train on
    them)."""
    if unannotated not in UNANNOTATED:
        raise InputError(
            f"config key datasets.<name>.unannotated: {unannotated!r} is not one of {UNANNOTATED}"
        )
    f = get_format(fmt)
    records = f.read(Path(root), dataset_layout(f, layout, root), dataset_options(f, options))
    if unannotated == "drop":
        return drop_unannotated(records, str(root))
    kept = sum(1 for r in records if r.label and not r.annotated)
    log.info(
        "%s: %d of %d positive images have no ground truth; kept to train and validate the "
        "classifiers only (unannotated: train)",
        root,
        kept,
        sum(r.label for r in records),
    )
    return records
