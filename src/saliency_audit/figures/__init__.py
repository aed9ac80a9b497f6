"""The paper's figures (headless matplotlib, Agg backend), written atomically as PNG.

* :func:`figure_utility` -- Figure 2: utility box plots per method with the AVG and
  U-Net/RetinaNet baselines;
* :func:`figure_randomization` -- Figure 3A: mean SSIM under cascading randomization with the
  randomization baselines; :func:`figure_randomization_panel` -- Figure 3B: one image's maps
  per method (rows) and step (columns);
* :func:`figure_agreement` -- Figure 4: repeatability and reproducibility SSIM with the 0.5 and
  U-Net/RetinaNet baselines;
* :func:`figure_overlays` -- example images with each method's map and the ground truth outline.

Colours follow the paper: low baseline light blue, high baseline dark blue; box plots mark the
median with a solid line and the mean with a dashed line.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .. import io  # noqa: E402
from ..errors import InputError  # noqa: E402
from ..stats.mixed import COLUMNS, _check_unique, clean  # noqa: E402

LOW_COLOR = "#9ecae1"  # light blue, as the paper's low baseline
HIGH_COLOR = "#08519c"  # dark blue, as the paper's high baseline
METHOD_COLOR = "#d9d9d9"
METRIC_LABELS = {
    "auprc": "pixel AUPRC (unitless, 0 to 1)",
    "auroc": "pixel AUROC (unitless, 0 to 1)",
    "ap": "pixel average precision (unitless, 0 to 1)",
    "ssim": "SSIM (unitless, -1 to 1; 1 = identical)",
    "spearman": "Spearman rank correlation (unitless, -1 to 1)",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(str(metric).lower(), f"{metric} (unitless)")


def prepare(df: pd.DataFrame, metric: str, what: str) -> pd.DataFrame:
    """Validated rows of one metric (NaN values dropped); :class:`InputError` names what is
    missing."""
    data, _ = clean(df, COLUMNS, what)
    sub = data[data["metric"] == str(metric)]
    if sub.empty:
        have = ", ".join(sorted(set(data["metric"]))) or "none"
        raise InputError(f"{what}: no rows with metric == {metric!r} (column 'metric' has {have})")
    return sub


def unique_rows(sub: pd.DataFrame, methods, what: str) -> pd.DataFrame:
    """One row per (method, image_id), else :class:`InputError` (select a model/step)."""
    return _check_unique(sub, methods, what, "error")


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


def subplots(n: int, width: float = 6.5, height: float = 4.0):
    """One panel per dataset, stacked vertically (legends go to the right of each panel)."""
    fig, axes = plt.subplots(n, 1, figsize=(width + 3.0, height * n), squeeze=False)
    return fig, list(axes[:, 0])


def finish(fig, path, title: str | None = None) -> None:
    """Optional overall title, tight layout, atomic PNG write (the caller closes ``fig``)."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    io.save_figure(fig, path)


def legend_right(ax, handles) -> None:
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


from .agreement import figure_agreement  # noqa: E402
from .overlays import figure_overlays  # noqa: E402
from .randomization import figure_randomization, figure_randomization_panel  # noqa: E402
from .utility import figure_utility  # noqa: E402

__all__ = [
    "figure_agreement",
    "figure_overlays",
    "figure_randomization",
    "figure_randomization_panel",
    "figure_utility",
]
