"""Figure 3: saliency maps under cascading model-weight randomization.

(A) :func:`figure_randomization`: mean SSIM(trained map, map at step) per method across the
cascade, with a 95% confidence band, and each method's randomization baseline as a dashed line
in the method's colour ("a saliency model successfully reaches degradation if it goes below its
corresponding randomization baseline").
(B) :func:`figure_randomization_panel`: one example image, its map per method (rows) at each
step (columns).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import InputError
from ..stats.data import method_order
from ..stats.verdict import randomization_baseline, select_rows, step_order
from ..vocabulary import BASELINE_LABELS
from . import style


def _mean_ci(values: np.ndarray, level: float) -> tuple[float, float, float]:
    values = np.asarray(values, float)
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if n < 2:
        return mean, mean, mean
    half = float(sps.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def figure_randomization(
    df: pd.DataFrame,
    baseline: Any,
    path: str | os.PathLike,
    *,
    metric: str = "ssim",
    model: str | None = None,
    steps: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    level: float = 0.95,
    title: str | None = None,
) -> None:
    """Mean ``metric`` (SSIM to the trained model's map) per method across cascading steps.

    ``df``: tidy randomization metrics, one row per (method, step, image_id); the x axis takes
    the steps in the order they first appear (the cascade as written: trained/``none`` if
    present, then ``logits``, ``mixed10`` ... ``stem`` = fully random) unless ``steps`` is
    given. Shaded band: ``level`` (95%) t confidence interval of the mean over images.
    ``baseline``: the randomization baseline, a number or per-method values/samples (see
    :func:`saliency_audit.stats.verdict.randomization_baseline`); drawn dashed at its mean, in
    the method's colour (one black line when all methods share it). One panel per dataset.
    """
    what = "randomization figure"
    data = style.prepare(df, metric, what)
    datasets = list(dict.fromkeys(data["dataset"]))
    with style.dataset_panels(len(datasets), path, title, width=7.0, height=4.5) as axes:
        for ax, ds in zip(axes, datasets, strict=True):
            sub = select_rows(data[data["dataset"] == ds], [], model, None, what)
            order = list(steps) if steps is not None else step_order(sub)
            missing = [s for s in order if s not in set(sub["step"])]
            if missing:
                raise InputError(
                    f"{what} (dataset {ds!r}): no rows with step {', '.join(missing)} in "
                    f"column 'step' (has {', '.join(step_order(sub))})"
                )
            meths = list(methods) if methods is not None else method_order(sub["method"])
            meths = [m for m in meths if m not in BASELINE_LABELS]
            base = randomization_baseline(baseline, meths, dataset=ds, metric=metric)
            base_mean = {m: float(np.mean(v)) for m, v in base.items()}
            shared = len({round(v, 9) for v in base_mean.values()}) == 1
            x = np.arange(len(order))
            colors = plt.get_cmap("tab10")
            for k, m in enumerate(meths):
                color = colors(k % 10)
                rows = sub[sub["method"] == m]
                if rows.duplicated(["step", "image_id"]).any():
                    raise InputError(
                        f"{what} (dataset {ds!r}): several rows per (step, image_id) for method "
                        f"{m!r} (models {sorted(set(rows['model']))}); pass model="
                    )
                stats = [_mean_ci(rows.loc[rows["step"] == s, "value"], level) for s in order]
                mean, lo, hi = (np.array(a) for a in zip(*stats, strict=True))
                ax.plot(x, mean, marker="o", ms=3, color=color, label=m)
                ax.fill_between(x, lo, hi, color=color, alpha=0.15, lw=0)
                if not shared:
                    ax.axhline(base_mean[m], color=color, ls="--", lw=1)
            if shared and base_mean:
                ax.axhline(next(iter(base_mean.values())), color="black", ls="--", lw=1.2)
            handles, labels = ax.get_legend_handles_labels()
            handles.append(
                plt.Line2D(
                    [],
                    [],
                    color="black" if shared else "grey",
                    ls="--",
                    label="randomization baseline"
                    + ("" if shared else " (per method, its colour)"),
                )
            )
            style.legend_right(ax, handles)
            ax.set_xticks(x, order, rotation=45, ha="right")
            ax.set_xlabel("cascading randomization step (top layer first; last = fully random)")
            ax.set_ylabel(f"mean {style.metric_label(metric)}\nvs trained model's map")
            n = sub["image_id"].nunique()
            pct = round(level * 100)
            ax.set_title(f"{ds}: {metric.upper()} under cascading randomization ({n} images)")
            ax.text(
                0.01,
                0.01,
                f"band: {pct}% CI of the mean",
                transform=ax.transAxes,
                fontsize=7,
                va="bottom",
            )
            ax.grid(alpha=0.3)


def _as_image(a: Any, what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 3 and arr.shape[-1] in (1, 3, 4):
        arr = arr[..., :3].mean(axis=-1)
    if arr.ndim != 2:
        raise InputError(f"{what}: expected a 2-D array (H, W), got shape {arr.shape}")
    return arr


def figure_randomization_panel(
    image: np.ndarray,
    maps_by_step: Mapping[str, Mapping[str, np.ndarray]],
    path: str | os.PathLike,
    *,
    methods: Sequence[str] | None = None,
    steps: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str = "inferno",
) -> None:
    """Image grid of one example: rows = methods, columns = the image then each step.

    ``image``: the input image, (H, W) or (H, W, C). ``maps_by_step``: step -> method ->
    saliency map (H, W) in [0, 1], steps in cascade order (dict order, e.g. ``"none"`` or
    ``"trained"`` first, then ``"logits"``, ... ``"stem"``). A missing (step, method) map leaves
    its cell empty; maps of another shape than the image raise :class:`InputError`.
    """
    what = "randomization panel"
    img = _as_image(image, f"{what}: image")
    if not isinstance(maps_by_step, Mapping) or not maps_by_step:
        raise InputError(f"{what}: maps_by_step must be a non-empty dict step -> method -> map")
    order = list(steps) if steps is not None else [str(s) for s in maps_by_step]
    for s in order:
        if s not in maps_by_step or not isinstance(maps_by_step[s], Mapping):
            raise InputError(f"{what}: no dict of maps for step {s!r}")
    all_methods = [m for s in order for m in maps_by_step[s]]
    meths = list(methods) if methods is not None else method_order(all_methods)
    if not meths:
        raise InputError(f"{what}: no maps")
    fig, axes = style.image_grid(len(meths), len(order) + 1, cell=1.5, extra_height=0.6)
    try:
        for i, m in enumerate(meths):
            axes[i][0].imshow(img, cmap="gray")
            axes[i][0].set_ylabel(m, fontsize=9)
            for j, s in enumerate(order):
                ax = axes[i][j + 1]
                if m in maps_by_step[s]:
                    arr = _as_image(maps_by_step[s][m], f"{what}: map {m!r} at step {s!r}")
                    if arr.shape != img.shape:
                        raise InputError(
                            f"{what}: map {m!r} at step {s!r} has shape {arr.shape}, "
                            f"the image {img.shape}"
                        )
                    ax.imshow(arr, cmap=cmap, vmin=0, vmax=1)
                else:
                    ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes)
            for ax in axes[i]:
                ax.set_xticks([])
                ax.set_yticks([])
        axes[0][0].set_title("image", fontsize=9)
        for j, s in enumerate(order):
            axes[0][j + 1].set_title(s, fontsize=9)
        fig.suptitle(
            title
            or "Saliency maps under cascading randomization (columns: trained -> fully random;"
            f" colour: saliency 0 to 1, {cmap})",
            fontsize=10,
        )
        style.finish(fig, path)
    finally:
        plt.close(fig)
