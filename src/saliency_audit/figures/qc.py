"""Dataset quality-control figure: example images with their ground truth, class balance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .. import io  # noqa: E402
from ..split import SPLITS  # noqa: E402


def pick_examples(index: pd.DataFrame, n: int, seed: int) -> list[int]:
    """Seeded choice of stack rows: about two thirds positives, the rest negatives."""
    rng = np.random.default_rng(seed)
    pos = index.loc[index["label"] == 1, "index"].to_numpy()
    neg = index.loc[index["label"] == 0, "index"].to_numpy()
    n_pos = min(len(pos), max(1, round(n * 2 / 3)))
    n_neg = min(len(neg), n - n_pos)
    rows = list(rng.choice(pos, n_pos, replace=False)) + list(rng.choice(neg, n_neg, replace=False))
    return [int(r) for r in rows]


def class_balance(index: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """Counts of negative/positive images per split (rows train/val/test)."""
    merged = index.merge(split, on="image_id")
    table = pd.crosstab(merged["split"], merged["label"]).reindex(index=list(SPLITS), fill_value=0)
    return table.reindex(columns=[0, 1], fill_value=0).rename(
        columns={0: "negative", 1: "positive"}
    )


def qc_figure(
    images: np.ndarray,
    masks: np.ndarray,
    index: pd.DataFrame,
    split: pd.DataFrame,
    boxes: pd.DataFrame,
    out_path,
    *,
    title: str,
    task: str,
    n_examples: int = 6,
    seed: int = 0,
) -> None:
    rows = pick_examples(index, n_examples, seed)
    ncols = len(rows) + 1
    fig, axes = plt.subplots(1, ncols, figsize=(2.6 * ncols, 3.2), squeeze=False)
    axes = axes[0]
    by_index = index.set_index("index")
    for ax, row in zip(axes, rows, strict=False):
        ax.imshow(images[row], cmap="gray", vmin=0, vmax=255)
        label = int(by_index.loc[row, "label"])
        if task == "detection":
            for b in boxes[boxes["index"] == row].itertuples():
                ax.add_patch(
                    Rectangle(
                        (b.x0 - 0.5, b.y0 - 0.5),
                        b.x1 - b.x0 + 1,
                        b.y1 - b.y0 + 1,
                        fill=False,
                        edgecolor="red",
                        linewidth=1.2,
                    )
                )
        elif masks[row].any():
            ax.contour(masks[row], levels=[0.5], colors="red", linewidths=1.0)
        ax.set_title(
            f"{'positive' if label else 'negative'}\n{by_index.loc[row, 'image_id'][-12:]}",
            fontsize=8,
        )
        ax.set_xticks([])
        ax.set_yticks([])
    balance = class_balance(index, split)
    ax = axes[-1]
    x = np.arange(len(balance))
    ax.bar(x - 0.2, balance["negative"], 0.4, label="negative", color="#9ecae1")
    ax.bar(x + 0.2, balance["positive"], 0.4, label="positive", color="#de2d26")
    for xi, (neg, pos) in enumerate(balance.to_numpy()):
        ax.text(xi - 0.2, neg, str(neg), ha="center", va="bottom", fontsize=7)
        ax.text(xi + 0.2, pos, str(pos), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, balance.index)
    ax.set_ylabel("images")
    ax.set_title("class balance per split", fontsize=9)
    ax.legend(fontsize=7)
    truth = "boxes" if task == "detection" else "mask outline"
    fig.suptitle(f"{title}: examples (red = ground-truth {truth}) and class balance", fontsize=10)
    fig.tight_layout()
    io.save_figure(fig, out_path)
    plt.close(fig)
