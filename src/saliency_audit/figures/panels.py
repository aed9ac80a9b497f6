"""Learning curves of trained models and the panel of each model's maps per method."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .. import io  # noqa: E402


def learning_curve(history: pd.DataFrame, path, *, title: str, extra: str | None = None) -> None:
    """Training and validation loss per epoch, the restored (best) epoch marked.

    ``extra`` names a further validation column (e.g. ``val_auroc``) drawn on a right axis.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(history["epoch"], history["loss"], marker="o", ms=3, label="training loss")
    if "val_loss" in history and history["val_loss"].notna().any():
        ax.plot(history["epoch"], history["val_loss"], marker="o", ms=3, label="validation loss")
    if "best" in history and history["best"].any():
        best = history.loc[history["best"].astype(bool), "epoch"].iloc[-1]
        ax.axvline(best, color="grey", ls="--", lw=1, label=f"restored epoch {best}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (binary cross-entropy)")
    handles, labels = ax.get_legend_handles_labels()
    if extra and extra in history and history[extra].notna().any():
        ax2 = ax.twinx()
        ax2.plot(
            history["epoch"],
            history[extra],
            color="tab:green",
            ls=":",
            marker="s",
            ms=3,
            label=extra.replace("_", " "),
        )
        ax2.set_ylabel(extra.replace("_", " "))
        ax2.set_ylim(0, 1.02)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="upper right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    io.save_figure(fig, path)
    plt.close(fig)


def method_panel(images, maps_by_method: dict, image_ids, path, *, title: str, masks=None) -> None:
    """Grid: one row per image (the image with the ground-truth outline, then each method's
    map in [0, 1])."""
    import numpy as np

    methods = list(maps_by_method)
    n = len(images)
    cols = len(methods) + 1
    fig, axes = plt.subplots(n, cols, figsize=(1.6 * cols, 1.6 * n + 0.6), squeeze=False)
    im = None
    for r in range(n):
        axes[r, 0].imshow(np.asarray(images[r]), cmap="gray", vmin=0, vmax=255)
        if masks is not None and np.asarray(masks[r]).any():
            axes[r, 0].contour(
                np.asarray(masks[r]) > 0, levels=[0.5], colors="cyan", linewidths=0.8
            )
        label = str(image_ids[r])
        axes[r, 0].set_ylabel(label if len(label) <= 14 else "…" + label[-12:], fontsize=6)
        for c, m in enumerate(methods, 1):
            im = axes[r, c].imshow(
                np.asarray(maps_by_method[m][r], np.float32), cmap="inferno", vmin=0, vmax=1
            )
    for c, name in enumerate(["image", *methods]):
        axes[0, c].set_title(name, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    if im is not None:
        bar = fig.colorbar(im, ax=axes, shrink=0.6, pad=0.01)
        bar.set_label("attribution (normalised, 0-1)", fontsize=7)
    io.save_figure(fig, path)
