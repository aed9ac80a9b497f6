"""Example overlays: each method's saliency map over the image, with the ground-truth outline."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .. import io
from ..errors import InputError
from ..stats.data import method_order
from . import style
from .randomization import _as_image

GT_COLOR = "lime"


def _as_list(stack: Any, what: str) -> list[np.ndarray]:
    if isinstance(stack, np.ndarray):
        if stack.ndim == 2:
            return [stack]
        return [stack[i] for i in range(stack.shape[0])]
    if isinstance(stack, Sequence) and not isinstance(stack, str):
        return list(stack)
    raise InputError(f"{what}: expected an array (N, H, W) or a list of (H, W) arrays")


def _draw_truth(ax, truth: Any, shape: tuple[int, int], what: str) -> None:
    """Outline a binary mask (H, W) or boxes ``[(x, y, w, h), ...]`` in pixels; None: nothing."""
    if truth is None:
        return
    arr = np.asarray(truth)
    if arr.size == 0:
        return
    if arr.ndim == 2 and arr.shape == shape:
        if arr.any() and not arr.all():
            ax.contour(arr.astype(float), levels=[0.5], colors=GT_COLOR, linewidths=1.0)
        return
    boxes = arr.reshape(-1, 4) if arr.size and arr.size % 4 == 0 and arr.ndim <= 2 else None
    if boxes is None or (arr.ndim == 2 and arr.shape[1] != 4):
        raise InputError(
            f"{what}: ground truth must be a mask of shape {shape} or boxes (x, y, w, h); "
            f"got shape {arr.shape}"
        )
    for x, y, w, h in boxes.astype(float):
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=GT_COLOR, lw=1.0))


def figure_overlays(
    images: Any,
    maps_by_method: Mapping[str, Any],
    masks_or_boxes: Any,
    path: str | os.PathLike,
    *,
    methods: Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
    alpha: float = 0.5,
    cmap: str = "jet",
    title: str | None = None,
) -> None:
    """A grid: rows = example images, columns = the image then each method's map over it.

    ``images``: (N, H, W) array or list of N (H, W) arrays (grayscale, any range).
    ``maps_by_method``: method -> (N, H, W) array or list of N maps in [0, 1], same order.
    ``masks_or_boxes``: list of N ground truths, each a binary mask (H, W), an array/list of
    boxes ``(x, y, width, height)`` in pixels (top-left corner), or None. ``titles``: optional
    row labels (e.g. image ids). Writes a PNG to ``path``.
    """
    what = "overlay figure"
    imgs = [_as_image(a, f"{what}: image {i}") for i, a in enumerate(_as_list(images, what))]
    if not imgs:
        raise InputError(f"{what}: no images")
    if not isinstance(maps_by_method, Mapping) or not maps_by_method:
        raise InputError(f"{what}: maps_by_method must be a non-empty dict method -> maps")
    meths = list(methods) if methods is not None else method_order(maps_by_method)
    maps = {}
    for m in meths:
        if m not in maps_by_method:
            raise InputError(f"{what}: no maps for method {m!r}")
        stack = _as_list(maps_by_method[m], f"{what}: maps of {m!r}")
        if len(stack) != len(imgs):
            raise InputError(f"{what}: method {m!r} has {len(stack)} maps for {len(imgs)} images")
        maps[m] = [_as_image(a, f"{what}: map {m!r} {i}") for i, a in enumerate(stack)]
    truths = (
        _as_list(masks_or_boxes, f"{what}: masks_or_boxes")
        if masks_or_boxes is not None
        else [None] * len(imgs)
    )
    if len(truths) != len(imgs):
        raise InputError(f"{what}: {len(truths)} ground truths for {len(imgs)} images")
    if titles is not None and len(titles) != len(imgs):
        raise InputError(f"{what}: {len(titles)} titles for {len(imgs)} images")
    fig, axes = style.image_grid(len(imgs), len(meths) + 1, cell=1.8, extra_height=0.8)
    try:
        mappable = None
        for i, img in enumerate(imgs):
            row = axes[i]
            row[0].imshow(img, cmap="gray")
            _draw_truth(row[0], truths[i], img.shape, f"{what}: ground truth {i}")
            row[0].set_ylabel(titles[i] if titles is not None else f"example {i + 1}", fontsize=8)
            for j, m in enumerate(meths):
                sal = maps[m][i]
                if sal.shape != img.shape:
                    raise InputError(
                        f"{what}: map {m!r} {i} has shape {sal.shape}, the image {img.shape}"
                    )
                row[j + 1].imshow(img, cmap="gray")
                mappable = row[j + 1].imshow(sal, cmap=cmap, alpha=alpha, vmin=0, vmax=1)
                _draw_truth(row[j + 1], truths[i], img.shape, f"{what}: ground truth {i}")
            for ax in row:
                ax.set_xticks([])
                ax.set_yticks([])
        axes[0][0].set_title("image", fontsize=9)
        for j, m in enumerate(meths):
            axes[0][j + 1].set_title(m, fontsize=9)
        handle = Line2D([], [], color=GT_COLOR, lw=1.5, label="ground truth (mask / box)")
        fig.legend(handles=[handle], loc="lower center", fontsize=8, frameon=False)
        fig.suptitle(title or "Saliency maps over example test images", fontsize=10)
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        if mappable is not None:
            cbar = fig.colorbar(mappable, ax=list(np.ravel(axes)), shrink=0.6, pad=0.01)
            cbar.set_label("saliency (0 to 1)", fontsize=8)
        io.save_figure(fig, path)
    finally:
        plt.close(fig)
