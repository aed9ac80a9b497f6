"""Tidy metric rows as the statistics read them: checked, cleaned, selected, ordered.

Input tables have the columns of :data:`saliency_audit.metrics.tidy.COLUMNS` (one row per
image, method and metric; ``value`` a float). Every check raises :class:`InputError` naming
the table, column and value at fault.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics.tidy import COLUMNS as _COLUMNS
from ..vocabulary import BASELINE_LABELS

log = logging.getLogger(__name__)

COLUMNS = tuple(_COLUMNS)
KEY_COLUMNS = COLUMNS[:-1]
_TOL = 1e-12


def check_columns(df: Any, required: Iterable[str] = COLUMNS, what: str = "metrics table") -> None:
    """Raise :class:`InputError` naming every required column that ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"has {', '.join(repr(str(c)) for c in df.columns)}"
        )


def clean(
    df: pd.DataFrame, required: Iterable[str] = COLUMNS, what: str = "metrics table"
) -> tuple[pd.DataFrame, int]:
    """Validate a tidy metrics table; return ``(copy without NaN values, number dropped)``.

    Key columns become stripped strings; ``value`` becomes float. A value that is not a number
    (e.g. ``"abc"``) raises :class:`InputError` naming the column and the value.
    """
    required = list(required)
    check_columns(df, required, what)
    out = df.copy()
    for col in required:
        if col == "value":
            continue
        if out[col].isna().any():
            first = out[col].index[out[col].isna().to_numpy()][0]
            raise InputError(f"{what}: column {col!r} has an empty value (row {first})")
        out[col] = out[col].astype(str).str.strip()
    if "value" not in required:
        return out, 0
    raw = out["value"]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna()
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        bad_value = raw.iloc[i]
        if not (isinstance(bad_value, float) and math.isnan(bad_value)):
            raise InputError(
                f"{what}: column 'value' holds a non-numeric value {bad_value!r} "
                f"(row {out.index[i]!r})"
            )
    num = num.astype(float).replace([np.inf, -np.inf], np.nan)
    out["value"] = num
    n_dropped = int(num.isna().sum())
    if n_dropped:
        log.warning("%s: dropped %d row(s) with a missing (NaN) value", what, n_dropped)
        out = out[num.notna()]
    return out, n_dropped


def is_constant(x) -> bool:
    """All values equal up to floating-point noise (e.g. 0.1 + 0.2 vs 0.3)."""
    x = np.asarray(x, dtype=float)
    return len(x) == 0 or float(np.ptp(x)) <= _TOL * max(1.0, float(np.max(np.abs(x))))


def method_order(methods: Iterable[str]) -> list[str]:
    """Unique method labels: the registered saliency methods in their registry (the paper's)
    order, then other labels as given, baselines (AVG, UNET, RETINANET) last."""
    from ..saliency.registry import method_names

    seen = list(dict.fromkeys(str(m) for m in methods))
    registered = method_names()
    known = [m for m in registered if m in seen]
    base = [m for m in BASELINE_LABELS if m in seen]
    rest = [m for m in seen if m not in registered and m not in BASELINE_LABELS]
    return known + rest + base


def one_value(df: pd.DataFrame, column: str, what: str) -> str:
    """The single value of ``column`` in ``df``; :class:`InputError` when there are several."""
    values = list(dict.fromkeys(df[column].astype(str)))
    if len(values) > 1:
        raise InputError(
            f"{what}: column {column!r} has several values ({', '.join(values)}); "
            f"select one {column} first"
        )
    return values[0] if values else ""


def metric_rows(df: pd.DataFrame, metric: str, what: str) -> tuple[pd.DataFrame, int]:
    """Rows of one metric, validated, NaN values dropped (and counted)."""
    check_columns(df, COLUMNS, what)
    metric = str(metric)
    mask = df["metric"].astype(str).str.strip() == metric
    if not mask.any():
        have = ", ".join(sorted(set(df["metric"].astype(str)))) or "none"
        raise InputError(f"{what}: no rows with metric == {metric!r} (column 'metric' has {have})")
    sub, n_dropped = clean(df[mask], what=what)
    if sub.empty:
        raise InputError(f"{what}: every value of metric {metric!r} is missing (column 'value')")
    return sub, n_dropped


def unique_rows(sub: pd.DataFrame, methods: Iterable[str], what: str, duplicates: str = "error"):
    """The rows of ``methods``, one per (method, image_id): repeats are an error, or averaged
    with ``duplicates="mean"``."""
    rows = sub[sub["method"].isin(list(methods))]
    dup = rows.duplicated(["method", "image_id"], keep=False)
    if not dup.any():
        return rows
    if duplicates == "mean":
        n = int(dup.sum())
        log.warning("%s: averaging %d rows that share (method, image_id)", what, n)
        keys = [c for c in KEY_COLUMNS if c not in ("model", "step")]
        agg = rows.groupby(keys, sort=False, as_index=False)["value"].mean()
        cols = ["method", "image_id", "model", "step"]
        first = rows.drop_duplicates(["method", "image_id"])[cols]
        return agg.merge(first, on=["method", "image_id"], how="left")[list(COLUMNS)]
    if duplicates != "error":
        raise InputError(f"duplicates must be 'error' or 'mean', got {duplicates!r}")
    example = rows[dup].iloc[0]
    where = rows[dup].groupby("method")["image_id"].nunique()
    detail = ", ".join(f"{m}: {k} images" for m, k in where.items())
    raise InputError(
        f"{what}: several rows per (method, image_id) ({detail}; e.g. method "
        f"{example['method']!r}, image_id {example['image_id']!r}, models "
        f"{sorted(set(rows[dup]['model']))}, steps {sorted(set(rows[dup]['step']))}); "
        "select one model/step (column 'model' / 'step') or pass duplicates='mean'"
    )
