"""cheXlocalize's pathology-characteristics figure: IoU and hit against each characteristic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..localize.features import FEATURES
from .style import finish, plt

METRICS = {"iou": "IoU (0-1)", "hit": "pointing-game hit (0-1)"}


def figure_characteristics(per_image: pd.DataFrame, path, *, model: str, title: str) -> None:
    """One panel per (metric, characteristic): the images of ``model`` (one colour per
    method) and each method's least-squares line. ``per_image``: the localisation job's
    per-image table restricted to the evaluated images with ground truth."""
    data = per_image[per_image["model"] == model]
    methods = list(dict.fromkeys(data["method"]))
    colors = plt.get_cmap("tab10")
    fig, axes = plt.subplots(
        len(METRICS),
        len(FEATURES),
        figsize=(3.0 * len(FEATURES), 2.8 * len(METRICS)),
        squeeze=False,
    )
    try:
        for r, (metric, ylabel) in enumerate(METRICS.items()):
            for c, (feature, xlabel) in enumerate(FEATURES.items()):
                ax = axes[r][c]
                for k, method in enumerate(methods):
                    sub = data[data["method"] == method][[feature, metric]].dropna()
                    color = colors(k % 10)
                    ax.scatter(
                        sub[feature], sub[metric], s=12, alpha=0.7, color=color, label=method
                    )
                    x = sub[feature].to_numpy(float)
                    if x.size >= 3 and np.ptp(x) > 0:
                        slope, icept = np.polyfit(x, sub[metric].to_numpy(float), 1)
                        xs = np.linspace(x.min(), x.max(), 2)
                        ax.plot(xs, icept + slope * xs, color=color, lw=1.2)
                ax.set_xlabel(xlabel, fontsize=8)
                ax.set_ylabel(ylabel, fontsize=8)
                ax.set_ylim(-0.05, 1.05)
                ax.grid(alpha=0.3)
        if methods:
            axes[0][-1].legend(
                fontsize=7,
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                title="method (lines: least squares)",
                title_fontsize=7,
            )
        if data.empty:
            axes[0][0].text(
                0.5,
                0.5,
                "no evaluated image with ground truth",
                ha="center",
                transform=axes[0][0].transAxes,
            )
        finish(fig, path, title)
    finally:
        plt.close(fig)
