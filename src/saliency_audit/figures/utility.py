"""Figure 2: localization utility per saliency method with the low and high baselines."""

from __future__ import annotations

import os

import pandas as pd

from ..stats.data import method_order
from ..stats.verdict import pick_high_baseline, select_rows
from ..vocabulary import AVG, BASELINE_LABELS
from . import style


def figure_utility(
    df: pd.DataFrame,
    path: str | os.PathLike,
    metric: str = "auprc",
    *,
    low: str | None = AVG,
    high: str | None = None,
    model: str | None = None,
    step: str | None = None,
    title: str | None = None,
) -> None:
    """Box plots of the per-image utility ``metric`` per method, one panel per dataset.

    ``df``: tidy utility metrics (``dataset, model, method, step, image_id, metric, value``)
    with saliency-method rows and baseline rows (``method`` = ``low``, default ``AVG``, drawn
    as a light-blue box and dashed line at its mean; ``high``, default whichever of
    ``UNET``/``RETINANET`` is present, dark blue). ``model``/``step`` select the classifier rows
    (baseline rows are kept as they are). Each box: solid line = median, dashed = mean.
    Writes a PNG to ``path``; :class:`InputError` on missing columns or metric.
    """
    what = "utility figure"
    data = style.prepare(df, metric, what)
    datasets = list(dict.fromkeys(data["dataset"]))
    with style.dataset_panels(
        len(datasets), path, title, width=max(6.0, 0.6 * data["method"].nunique() + 2)
    ) as axes:
        for ax, ds in zip(axes, datasets, strict=True):
            sub = data[data["dataset"] == ds]
            hi = pick_high_baseline(set(sub["method"]), high, what)
            bases = [b for b in (low, hi) if b is not None]
            keep = list(dict.fromkeys([*bases, *BASELINE_LABELS]))
            sub = select_rows(sub, keep, model, step, f"{what} (dataset {ds!r})")
            methods = [m for m in method_order(sub["method"]) if m not in keep]
            sub = style.unique_rows(
                sub, methods + [b for b in bases if b in set(sub["method"])], what
            )
            order = methods + [b for b in bases if b in set(sub["method"])]
            values = [sub.loc[sub["method"] == m, "value"].to_numpy() for m in order]
            colors = [
                style.LOW_COLOR if m == low else style.HIGH_COLOR if m == hi else style.METHOD_COLOR
                for m in order
            ]
            style.boxplot(ax, values, range(len(order)), colors)
            handles = style.box_legend_handles()
            for b, color, kind in ((low, style.LOW_COLOR, "low"), (hi, style.HIGH_COLOR, "high")):
                if b is not None and b in set(sub["method"]):
                    mean = float(sub.loc[sub["method"] == b, "value"].mean())
                    ax.axhline(mean, color=color, ls="--", lw=1.5, zorder=0)
                    handles.append(
                        style.baseline_handle(
                            color, f"{kind} baseline {b} (box; dashed = mean)", True
                        )
                    )
            ax.set_xticks(range(len(order)), order, rotation=45, ha="right")
            n = sub.loc[sub["method"].isin(methods), "image_id"].nunique()
            title_ds = f"{ds}: localization utility ({metric.upper()}), {n} test images"
            style.decorate(ax, metric=metric, title=title_ds, handles=handles)
