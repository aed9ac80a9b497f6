"""The faithfulness figure: mean deletion, insertion and ROAD curves per method, with the
random pixel order (the baseline) dashed."""

from __future__ import annotations

import pandas as pd

from .. import io
from ..vocabulary import RANDOM_ORDER
from .style import plt

_TITLES = {
    "deletion": "Deletion (lower = faithful)",
    "insertion": "Insertion (higher = faithful)",
    "road": "ROAD, noisy linear imputation (lower = faithful)",
}


def figure_faithfulness(curves: pd.DataFrame, out, *, title: str) -> None:
    """``curves``: rows ``method, curve, image_id, fraction, logit`` (the job's curves CSV)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), sharey=False)
    methods = [m for m in dict.fromkeys(curves["method"]) if m != RANDOM_ORDER]
    cmap = plt.get_cmap("tab20")
    for ax, (curve, label) in zip(axes, _TITLES.items(), strict=True):
        sub = curves[curves["curve"] == curve]
        mean = sub.groupby(["method", "fraction"], sort=False)["logit"].mean()
        for k, m in enumerate(methods):
            if m in mean.index.get_level_values(0):
                s = mean.loc[m]
                ax.plot(s.index, s.to_numpy(), color=cmap(k % 20), lw=1.4, label=m)
        if RANDOM_ORDER in mean.index.get_level_values(0):
            s = mean.loc[RANDOM_ORDER]
            ax.plot(s.index, s.to_numpy(), color="black", ls="--", lw=2, label="random order")
        verb = "restored" if curve == "insertion" else "removed"
        ax.set_xlabel(f"fraction of pixels {verb} in map order (unitless, 0 to 1)")
        ax.set_ylabel("mean logit of the explained class (logits)")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    io.save_figure(fig, out)
    plt.close(fig)
