"""Metric-stage throughput on synthetic float16 maps: ours vs plain per-image references.

Generates seeded blob-like float16 maps in [0, 1] with many ties (a coarse grid upsampled,
plus fine noise), rectangular lesion masks (10% of images empty), and a second map set
correlated with the first; times each metric family over all images, and the plain
references (scikit-learn's ``average_precision_score``/``precision_recall_curve``/
``roc_auc_score``, scikit-image's ``structural_similarity`` and ``threshold_otsu``, scipy's
``spearmanr``, numpy argsort, one image at a time) on a subset, extrapolated.  Prints
seconds per 1000 images and the ratio ours / reference measured in the same run.

    python benchmarks/metrics.py --images 1000 --size 320
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr
from skimage.filters import threshold_otsu
from skimage.metrics import structural_similarity
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score

from saliency_audit import metrics as M


def make_data(n: int, size: int, seed: int = 0):
    """``(maps, maps2, masks)``: float16 (n, size, size) twice and bool (n, size, size)."""
    rng = np.random.default_rng(seed)
    coarse = max(2, size // 16)
    rep = -(-size // coarse)
    maps = np.empty((n, size, size), dtype=np.float16)
    maps2 = np.empty_like(maps)
    masks = np.zeros((n, size, size), dtype=bool)
    for start in range(0, n, 64):
        m = min(64, n - start)
        low = rng.random((m, coarse, coarse), dtype=np.float32) ** 2
        up = low.repeat(rep, axis=1).repeat(rep, axis=2)[:, :size, :size]
        noise = rng.random((m, size, size), dtype=np.float32)
        x = np.clip(0.9 * up + 0.1 * noise, 0, 1)
        maps[start : start + m] = x
        maps2[start : start + m] = np.clip(0.7 * x + 0.3 * rng.random(x.shape, np.float32), 0, 1)
    for i in range(n):
        if rng.random() < 0.1:
            continue  # a negative image: empty mask
        h, w = rng.integers(size // 8, size // 2, size=2)
        r, c = rng.integers(0, size - h), rng.integers(0, size - w)
        masks[i, r : r + h, c : c + w] = True
    return maps, maps2, masks


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def reference_loops(maps, maps2, masks, idx):
    """Plain per-image implementations (library calls in a Python loop), by family."""
    pos = [i for i in idx if masks[i].any()]

    def utility():
        for i in pos:
            y, s = masks[i].ravel(), maps[i].ravel()
            average_precision_score(y, s)
            precision, recall, _ = precision_recall_curve(y, s)
            auc(recall, precision)
            roc_auc_score(y, s)

    def ap():
        for i in pos:
            average_precision_score(masks[i].ravel(), maps[i].ravel())

    def ssim():
        for i in idx:
            structural_similarity(maps[i], maps2[i], win_size=7, data_range=1.0)

    def rho():
        for i in idx:
            spearmanr(maps[i].ravel(), maps2[i].ravel())

    def localization():
        for i in idx:
            x = maps[i].astype(np.float32)
            seg = x > threshold_otsu(x) if x.min() < x.max() else np.zeros(x.shape, bool)
            if masks[i].any():
                (seg & masks[i]).sum() / (seg | masks[i]).sum()
                masks[i].flat[np.argmax(x)]

    def attribution():
        k = M.default_topk(maps.shape[1] * maps.shape[2])
        for i in pos:
            x, g = maps[i].astype(np.float64).ravel(), masks[i].ravel()
            x[g].sum() / x.sum()
            order = np.argsort(-x, kind="stable")
            g[order[: g.sum()]].mean()
            g[order[:k]].mean()

    return {
        "utility (AP + trapz + AUROC)": (utility, len(pos), "sklearn, 3 calls"),
        "  AP alone": (ap, len(pos), "sklearn AP"),
        "SSIM": (ssim, len(idx), "skimage SSIM"),
        "Spearman": (rho, len(idx), "scipy spearmanr"),
        "localization (Otsu + IoU + hit)": (localization, len(idx), "skimage Otsu loop"),
        "attribution (mass + rank + top-k)": (attribution, len(pos), "numpy argsort loop"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--reference-images", type=int, default=50)
    args = ap.parse_args()
    n = args.images
    maps, maps2, masks = make_data(n, args.size)

    ours = {
        "utility (AP + trapz + AUROC)": lambda: M.utility_scores(maps, masks),
        "  AP alone": lambda: M.average_precision(maps, masks),
        "SSIM": lambda: M.ssim(maps, maps2),
        "Spearman": lambda: M.spearman(maps, maps2),
        "localization (Otsu + IoU + hit)": lambda: (
            M.iou(M.otsu_threshold_masks(maps), masks),
            M.pointing_hit(maps, masks),
        ),
        "attribution (mass + rank + top-k)": lambda: (
            M.relevance_mass_accuracy(maps, masks),
            M.relevance_rank_accuracy(maps, masks),
            M.topk_intersection(maps, masks),
        ),
    }
    idx = list(range(min(args.reference_images, n)))
    refs = reference_loops(maps, maps2, masks, idx)
    n_pos = int(masks.reshape(n, -1).any(axis=1).sum())

    print(
        f"{n} images of {args.size}x{args.size} float16 ({n_pos} with a lesion); "
        f"references on the first {len(idx)} images, scaled to 1000"
    )
    head = f"{'metric family':<36} {'ours s/1000':>11} {'ref s/1000':>10} {'ours/ref':>8}"
    print(f"{head}  reference")
    total = 0.0
    for name, fn in ours.items():
        secs = timed(fn) * 1000.0 / n
        if not name.startswith(" "):
            total += secs
        ref_fn, ref_n, note = refs[name]
        ref = timed(ref_fn) * 1000.0 / max(ref_n, 1)
        print(f"{name:<36} {secs:>11.2f} {ref:>10.2f} {secs / ref:>8.3f}  {note}")
    print(f"{'total (families, not AP alone)':<36} {total:>11.2f}")


if __name__ == "__main__":
    main()
