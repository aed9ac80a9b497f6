"""Tidy long tables for every metric: one row per (image, metric).

Columns, in order: ``dataset, model, method, step, image_id, metric, value``.  ``step`` is
the randomization step (e.g. ``"mixed7"``) or the stage's own label for tables without one
(e.g. ``"trained"``); the workflow's stats and figures read only this shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from saliency_audit.errors import InputError

COLUMNS = ["dataset", "model", "method", "step", "image_id", "metric", "value"]


def tidy_frame(
    values: Mapping[str, np.ndarray],
    *,
    dataset: str,
    model: str,
    method: str,
    step: str,
    image_ids,
) -> pd.DataFrame:
    """A long table of ``{metric: (n,) values}`` for ``n`` images ``image_ids``.

    Rows are grouped by metric in the order of ``values``, images in the given order within
    each metric.  Every array must have one value per image; otherwise ``InputError`` names
    the metric.
    """
    ids = list(np.asarray(image_ids, dtype=object).ravel())
    n = len(ids)
    columns = []
    for metric, vals in values.items():
        arr = np.asarray(vals, dtype=np.float64)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise InputError(
                f"metric {metric!r} has {arr.size} value(s) (shape {arr.shape}) "
                f"but there are {n} image id(s)"
            )
        columns.append((str(metric), arr))
    if not columns:
        return empty_tidy()
    frame = pd.DataFrame(
        {
            "dataset": dataset,
            "model": model,
            "method": method,
            "step": step,
            "image_id": ids * len(columns),
            "metric": np.repeat([m for m, _ in columns], n),
            "value": np.concatenate([arr for _, arr in columns]),
        },
        columns=COLUMNS,
    )
    return frame


def empty_tidy() -> pd.DataFrame:
    """A tidy table with no rows."""
    return pd.DataFrame({c: pd.Series(dtype=float if c == "value" else object) for c in COLUMNS})


def concat_tidy(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack tidy tables (checking their columns) into one with a fresh index."""
    frames = list(frames)
    for i, frame in enumerate(frames):
        if list(frame.columns) != COLUMNS:
            raise InputError(f"frame {i} has columns {list(frame.columns)}, expected {COLUMNS}")
    if not frames:
        return empty_tidy()
    return pd.concat(frames, ignore_index=True)
