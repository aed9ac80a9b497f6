"""Figure 4: repeatability and reproducibility of saliency maps (SSIM) with baselines."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..stats.data import method_order
from ..stats.verdict import pick_high_baseline
from ..vocabulary import AGREEMENT_KINDS, BASELINE_LABELS, LOW_SSIM
from . import style

KIND_COLORS = ("#fdae6b", "#a1d99b", "#bcbddc", "#fc9272")


def figure_agreement(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    kinds: Sequence[str] = AGREEMENT_KINDS,
    low: float | None = LOW_SSIM,
    high: str | None = None,
    metric: str = "ssim",
    title: str | None = None,
) -> None:
    """Box plots of repeatability and reproducibility SSIM per method, one panel per dataset.

    ``df``: tidy SSIM rows whose ``model`` names the kind (``repeatability``,
    ``reproducibility``); per method one box per kind side by side. The high baseline
    (``method`` ``UNET``/``RETINANET``: SSIM between two separately trained localizers) is a
    dark-blue box per kind where present (else one box from any rows of it) with a dashed line at
    its mean; the low baseline (0.5) is a light-blue dashed line.
    """
    what = "agreement figure"
    data = style.prepare(df, metric, what)
    datasets = list(dict.fromkeys(data["dataset"]))
    n_methods = data["method"].nunique()
    with style.dataset_panels(
        len(datasets), path, title, width=max(6.0, 0.9 * n_methods + 2), height=4.2
    ) as axes:
        for ax, ds in zip(axes, datasets, strict=True):
            sub = data[data["dataset"] == ds]
            present_kinds = [k for k in kinds if k in set(sub["model"])]
            if not present_kinds:
                raise InputError(
                    f"{what} (dataset {ds!r}): no rows with model in {list(kinds)} "
                    f"(column 'model' has {', '.join(dict.fromkeys(sub['model']))})"
                )
            hi = pick_high_baseline(set(sub["method"]), high, what)
            methods = [m for m in method_order(sub["method"]) if m not in BASELINE_LABELS]
            methods = [m for m in methods if m != hi]
            width = 0.8 / len(present_kinds)
            values, positions, colors = [], [], []
            for k, kind in enumerate(present_kinds):
                part = style.unique_rows(
                    sub[sub["model"] == kind], methods, f"{what} ({ds!r}, {kind!r})"
                )
                for i, m in enumerate(methods):
                    values.append(part.loc[part["method"] == m, "value"].to_numpy())
                    positions.append(i - 0.4 + width * (k + 0.5))
                    colors.append(KIND_COLORS[k % len(KIND_COLORS)])
            ticks = list(range(len(methods)))
            labels = list(methods)
            handles = [
                style.baseline_handle(KIND_COLORS[k % len(KIND_COLORS)], kind, box=True)
                for k, kind in enumerate(present_kinds)
            ]
            if hi is not None:
                hrows = sub[sub["method"] == hi]
                groups = [(k, hrows[hrows["model"] == k]) for k in present_kinds]
                groups = [(k, g) for k, g in groups if len(g)]
                if not groups:
                    groups = [("", style.unique_rows(hrows, [hi], f"{what} ({ds!r}, {hi})"))]
                pos0 = len(methods)
                for k, (_kind, g) in enumerate(groups):
                    values.append(g["value"].to_numpy())
                    positions.append(pos0 - 0.4 + (0.8 / len(groups)) * (k + 0.5))
                    colors.append(style.HIGH_COLOR)
                ticks.append(pos0)
                labels.append(hi)
                mean = float(np.mean(np.concatenate([g["value"].to_numpy() for _, g in groups])))
                ax.axhline(mean, color=style.HIGH_COLOR, ls="--", lw=1.2, zorder=0)
                handles.append(
                    style.baseline_handle(
                        style.HIGH_COLOR, f"high baseline {hi} (box; dashed = mean)", True
                    )
                )
            style.boxplot(ax, values, positions, colors, width=width * 0.9)
            if low is not None:
                ax.axhline(float(low), color=style.LOW_COLOR, ls="--", lw=1.5, zorder=0)
                handles.append(
                    style.baseline_handle(style.LOW_COLOR, f"low baseline SSIM = {low:g}")
                )
            handles += style.box_legend_handles()
            ax.set_xticks(ticks, labels, rotation=45, ha="right")
            ax.set_xlim(-0.7, len(ticks) - 0.3)
            n = sub.loc[sub["method"].isin(methods), "image_id"].nunique()
            title_ds = f"{ds}: {' and '.join(present_kinds)} ({n} images)"
            style.decorate(ax, metric=metric, title=title_ds, handles=handles)
