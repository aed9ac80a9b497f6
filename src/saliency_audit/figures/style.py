"""The figures' shared look: baseline colours, box plots with mean lines, legends, layout."""

from __future__ import annotations

import contextlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .. import io  # noqa: E402
from ..errors import InputError  # noqa: E402
from ..stats.data import COLUMNS, clean  # noqa: E402
from ..stats.data import unique_rows as unique_rows  # noqa: E402
from ..vocabulary import axis_label as metric_label  # noqa: E402, F401 (used by the figures)

LOW_COLOR = "#9ecae1"  # light blue, as the paper's low baseline
HIGH_COLOR = "#08519c"  # dark blue, as the paper's high baseline
METHOD_COLOR = "#d9d9d9"


def prepare(df: pd.DataFrame, metric: str, what: str) -> pd.DataFrame:
    """Validated rows of one metric (NaN values dropped); :class:`InputError` names what is
    missing."""
    data, _ = clean(df, COLUMNS, what)
    sub = data[data["metric"] == str(metric)]
    if sub.empty:
        have = ", ".join(sorted(set(data["metric"]))) or "none"
        raise InputError(f"{what}: no rows with metric == {metric!r} (column 'metric' has {have})")
    return sub


def boxplot(ax, data: list[np.ndarray], positions, colors, width: float = 0.6) -> None:
    """Box plots with the median (solid) and mean (dashed) lines, no fliers clutter."""
    data = [np.asarray(d, float) if len(d) else np.array([np.nan]) for d in data]
    parts = ax.boxplot(
        data,
        positions=positions,
        widths=width,
        patch_artist=True,
        showmeans=True,
        meanline=True,
        medianprops={"color": "black", "lw": 1.2, "ls": "-"},
        meanprops={"color": "black", "lw": 1.2, "ls": "--"},
        flierprops={"marker": ".", "ms": 3, "alpha": 0.5},
    )
    for patch, color in zip(parts["boxes"], colors, strict=True):
        patch.set_facecolor(color)
        patch.set_edgecolor("black")


def box_legend_handles() -> list:
    return [
        Line2D([], [], color="black", ls="-", lw=1.2, label="median"),
        Line2D([], [], color="black", ls="--", lw=1.2, label="mean"),
    ]


def baseline_handle(color: str, label: str, box: bool = False):
    if box:
        return Patch(facecolor=color, edgecolor="black", label=label)
    return Line2D([], [], color=color, ls="--", lw=1.5, label=label)


@contextlib.contextmanager
def dataset_panels(n: int, path, title: str | None, width: float = 6.5, height: float = 4.0):
    """One panel per dataset, stacked vertically (legends to the right of each panel): yields
    the axes; then the figure is titled, laid out and written to ``path``, and always closed."""
    fig, axes = plt.subplots(n, 1, figsize=(width + 3.0, height * n), squeeze=False)
    try:
        yield list(axes[:, 0])
        finish(fig, path, title)
    finally:
        plt.close(fig)


def finish(fig, path, title: str | None = None) -> None:
    """Optional overall title, tight layout, atomic PNG write (the caller closes ``fig``)."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    io.save_figure(fig, path)


def legend_right(ax, handles) -> None:
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def decorate(ax, *, metric: str, title: str, handles, xlabel: str = "saliency method / baseline"):
    """Axis labels (the metric's label and unit), title, legend on the right, y grid."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric_label(metric))
    ax.set_title(title)
    legend_right(ax, handles)
    ax.grid(axis="y", alpha=0.3)


def image_grid(rows: int, cols: int, cell: float, extra_height: float):
    """A ``rows`` x ``cols`` grid of ``cell``-inch image axes (``extra_height`` for titles)."""
    return plt.subplots(
        rows, cols, figsize=(cell * cols, cell * rows + extra_height), squeeze=False
    )
