"""The paper's Tables 2-4: rows = saliency methods, columns = criteria/baselines per dataset.

* Table 2 ("Summary of All AUC Results"): utility with the pixel AUROC, each method vs the low
  baseline (AVG) and the high baseline (U-Net / RetinaNet), per dataset.
* Table 3 ("Summary of Main Results for Utility and Randomization Experiments"): utility with
  the pixel AUPRC vs AVG and vs U-Net/RetinaNet, and the randomization test (SSIM of the fully
  randomized model's map vs the randomization baseline), per dataset.
* Table 4 ("Summary of Main Results for Repeatability and Reproducibility Experiments"):
  repeatability and reproducibility SSIM vs 0.5 and vs U-Net/RetinaNet, per dataset.

Each cell reads ``<verdict> (<method mean> vs <baseline mean>; P <adjusted p>)``, e.g.
``did not pass (0.08 vs 0.15; P < .001)``. Column labels are ``<dataset>: <criterion>``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .. import io
from ..errors import InputError
from .data import check_columns, method_order
from .verdict import CRITERIA

_CRITERION_ORDER = list(CRITERIA)


def format_p(p: float) -> str:
    """A p-value in the journal's style: ``P < .001``, ``P = .02``, ``P > .99``; ``P = n/a``."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        return "P = n/a"
    if math.isnan(p):
        return "P = n/a"
    if p < 0.001:
        return "P < .001"
    if p > 0.99:
        return "P > .99"
    text = f"{p:.3f}" if p < 0.01 else f"{p:.2f}"
    return "P = " + text.lstrip("0")


def format_number(x: float, digits: int = 2) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def cell_text(row: pd.Series | dict, digits: int = 2) -> str:
    """``verdict (target mean vs baseline mean; P ...)`` for one verdict row."""
    return (
        f"{row['verdict']} ({format_number(row['target_mean'], digits)} vs "
        f"{format_number(row['baseline_mean'], digits)}; {format_p(row['p_adj'])})"
    )


def criterion_label(
    criterion: str, metric: str, baseline: str, step: str = "", condition: str = ""
) -> str:
    """Human label of one criterion, e.g. ``Utility vs AVG (AUPRC)``, ``Randomization (SSIM at
    cascade_stem vs baseline)``, ``Repeatability vs 0.5 (SSIM)`` (tables and scorecards)."""
    m = str(metric).upper()
    if criterion.startswith("utility"):
        return f"Utility vs {baseline} ({m})"
    if criterion == "randomization":
        return f"Randomization ({m} at {step} vs baseline)" if step else f"Randomization ({m})"
    if criterion in ("trained_vs_random", "architectures"):
        return f"Utility, {condition} vs {baseline} ({m})"
    if criterion == "repeatability_vs_reproducibility":
        return f"Repeatability vs reproducibility ({m})"
    if criterion == "data_randomization":
        return f"Data randomization ({m} with permuted labels vs baseline)"
    if criterion.startswith("faithfulness_"):
        curve = criterion.split("_", 1)[1]
        curve = "ROAD" if curve == "road" else curve.capitalize()
        return f"Faithfulness, {curve} vs random order (area, logits)"
    kind = criterion.rsplit("_", 1)[0].capitalize()
    return f"{kind} vs {baseline} ({m})"


def _column_key(row) -> tuple:
    crit = row["criterion"]
    rank = _CRITERION_ORDER.index(crit) if crit in _CRITERION_ORDER else len(_CRITERION_ORDER)
    return (rank, crit)


def verdict_table(
    verdicts: pd.DataFrame,
    *,
    methods: Sequence[str] | None = None,
    digits: int = 2,
) -> pd.DataFrame:
    """Pivot verdict rows (from :mod:`.verdict`) to a table: index ``method`` (paper order),
    one column per (dataset, criterion, metric, baseline), cells from :func:`cell_text`."""
    need = ["dataset", "criterion", "metric", "target", "baseline", "verdict"]
    need += ["target_mean", "baseline_mean", "p_adj"]
    check_columns(verdicts, need, "verdicts table")
    if verdicts.empty:
        raise InputError("verdicts table: no rows")
    v = verdicts.copy()
    for col in ("step", "condition"):
        v[col] = v[col].fillna("").astype(str) if col in v.columns else ""
    datasets = list(dict.fromkeys(v["dataset"].astype(str)))
    columns: list[tuple] = []
    labels: dict[tuple, str] = {}
    for ds in datasets:
        part = v[v["dataset"].astype(str) == ds]
        keys = part.drop_duplicates(["criterion", "metric", "baseline"])
        keys = sorted(keys.to_dict("records"), key=_column_key)
        for k in keys:
            key = (ds, k["criterion"], k["metric"], k["baseline"])
            columns.append(key)
            labels[key] = f"{ds}: " + criterion_label(
                k["criterion"],
                str(k["metric"]),
                str(k["baseline"]),
                str(k["step"]),
                str(k.get("condition") or ""),
            )
    rows = method_order(v["target"]) if methods is None else list(methods)
    table = pd.DataFrame(
        "", index=pd.Index(rows, name="method"), columns=[labels[c] for c in columns]
    )
    for _, r in v.iterrows():
        key = (str(r["dataset"]), r["criterion"], r["metric"], r["baseline"])
        if r["target"] in table.index:
            table.loc[r["target"], labels[key]] = cell_text(r, digits)
    return table


def model_utility_table(
    verdicts: pd.DataFrame, *, digits: int = 2, with_p: bool = True
) -> pd.DataFrame:
    """Utility of every classifier's maps: rows = methods, one column per (classifier,
    baseline), e.g. ``densenet121_r1: AUPRC vs AVG``. ``verdicts``: utility verdict rows with a
    ``classifier`` column (one dataset). Cells: :func:`cell_text` (``with_p``) or
    ``verdict (mean)``."""
    need = ["classifier", "metric", "target", "baseline", "verdict", "target_mean"]
    check_columns(verdicts, [*need, "baseline_mean", "p_adj"] if with_p else need, "verdicts")
    if verdicts.empty:
        raise InputError("verdicts table: no rows")
    keys = list(dict.fromkeys(zip(verdicts["classifier"], verdicts["baseline"], strict=True)))
    metric = str(verdicts["metric"].iloc[0]).upper()
    labels = {k: f"{k[0]}: {metric} vs {k[1]}" for k in keys}
    rows = method_order(verdicts["target"])
    table = pd.DataFrame("", index=pd.Index(rows, name="method"), columns=[labels[k] for k in keys])
    for _, r in verdicts.iterrows():
        text = (
            cell_text(r, digits)
            if with_p
            else f"{r['verdict']} ({format_number(r['target_mean'], digits)})"
        )
        table.loc[r["target"], labels[(r["classifier"], r["baseline"])]] = text
    return table


# --------------------------------------------------------------------------- writing


def _escape(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table (no tabulate needed); ``|`` in cells is escaped."""
    frame = df.reset_index() if index else df
    header = [_escape(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_escape(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_table(
    df: pd.DataFrame,
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    *,
    title: str | None = None,
) -> None:
    """Write a table as CSV (index as the first column, e.g. ``method``) and as Markdown
    (optionally under a ``title`` heading); both atomically."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"write_table: expected a DataFrame, got {type(df).__name__}")
    frame = df.reset_index() if df.index.name is not None else df
    io.write_csv(csv_path, frame)
    write_markdown(frame, md_path, title=title)


def write_markdown(
    df: pd.DataFrame, md_path: str | os.PathLike, *, title: str | None = None
) -> None:
    """Write a table as Markdown (index as the first column when named), atomically."""
    frame = df.reset_index() if df.index.name is not None else df
    text = markdown_table(frame, index=False)
    if title:
        text = f"## {title}\n\n{text}"
    io.write_text(md_path, text)
