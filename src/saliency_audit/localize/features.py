"""Why localisation fails: pathology characteristics and regressions on them.

After cheXlocalize's ``compute_pathology_features.py`` and ``regression_*.py``. Per ground-truth
mask: the number of regions (8-connected parts; cheXlocalize counts the radiologists'
contours, which we do not always have), the area fraction (lesion pixels / image pixels) and,
for the largest region, elongation (long / short side of its minimum-area enclosing
rectangle) and irrectangularity (1 - region area / that rectangle's area; 0 for a rectangle).
The classifier's probability is the fifth characteristic (cheXlocalize's "model assurance").

Regressions: per characteristic, a simple linear regression of IoU (or hit) on the
characteristic min-max scaled to [0, 1] (so the slope is the change from its smallest to its
largest value), with the 95% CI and p-value of ordinary least squares, the Bonferroni-adjusted
p-value over the characteristics, and Spearman's rank correlation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: characteristic -> label (figure axes, report)
FEATURES = {
    "n_regions": "regions (count)",
    "area_fraction": "area fraction of the image",
    "elongation": "elongation (long / short side)",
    "irrectangularity": "irrectangularity (1 - area / rectangle)",
    "probability": "classifier probability",
}


def _min_area_rectangle(points: np.ndarray) -> tuple[float, float]:
    """Sides (long, short) of the minimum-area rectangle enclosing 2-D ``points``: rotating
    calipers over the convex hull's edge directions."""
    from scipy.spatial import ConvexHull

    hull = points[ConvexHull(points).vertices]
    edges = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2))
    best = None
    for a in angles:
        c, s = np.cos(a), np.sin(a)
        u = hull @ np.array([c, s])
        v = hull @ np.array([-s, c])
        w, h = u.max() - u.min(), v.max() - v.min()
        if best is None or w * h < best[0] * best[1] - 1e-9:
            best = (w, h)
    w, h = best
    return max(w, h), min(w, h)


def mask_features(mask) -> dict[str, float]:
    """The four geometric characteristics of one binary mask (NaN for an empty mask)."""
    from scipy import ndimage

    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return {
            "n_regions": 0.0,
            "area_fraction": 0.0,
            "elongation": np.nan,
            "irrectangularity": np.nan,
        }
    labels, n = ndimage.label(m, structure=np.ones((3, 3), dtype=int))
    sizes = np.bincount(labels.ravel())[1:]
    largest = labels == (int(np.argmax(sizes)) + 1)
    rows, cols = np.nonzero(largest)
    # every pixel is the unit square [c, c+1] x [r, r+1]: its four corners
    corners = np.concatenate(
        [np.column_stack([cols + dc, rows + dr]) for dr in (0, 1) for dc in (0, 1)]
    ).astype(np.float64)
    long, short = _min_area_rectangle(np.unique(corners, axis=0))
    area = float(sizes.max())
    return {
        "n_regions": float(n),
        "area_fraction": float(m.sum()) / m.size,
        "elongation": long / short,
        "irrectangularity": max(0.0, 1.0 - area / (long * short)),
    }


def features_table(masks, image_ids) -> pd.DataFrame:
    """``image_id`` and the four characteristics per mask."""
    rows = [mask_features(m) for m in np.asarray(masks, dtype=bool)]
    return pd.DataFrame(rows).assign(image_id=list(image_ids))[
        ["image_id", "n_regions", "area_fraction", "elongation", "irrectangularity"]
    ]


def regress(y, x, *, alpha: float = 0.05) -> dict[str, float]:
    """OLS of ``y`` on ``x`` min-max scaled to [0, 1] (rows with NaN dropped): slope, its CI
    and p-value, Spearman's rho and its p-value, n. NaN where x or y does not vary."""
    from scipy.stats import spearmanr

    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    out = {
        "n": int(keep.sum()),
        "slope": np.nan,
        "slope_lo": np.nan,
        "slope_hi": np.nan,
        "p": np.nan,
        "spearman": np.nan,
        "spearman_p": np.nan,
    }
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    import statsmodels.api as sm

    scaled = (x - x.min()) / np.ptp(x)
    fit = sm.OLS(y, sm.add_constant(scaled)).fit()
    lo, hi = fit.conf_int(alpha)[1]
    rho, rho_p = spearmanr(x, y)
    out.update(
        slope=float(fit.params[1]),
        slope_lo=float(lo),
        slope_hi=float(hi),
        p=float(fit.pvalues[1]),
        spearman=float(rho),
        spearman_p=float(rho_p),
    )
    return out


def regressions(per_image: pd.DataFrame, metrics=("iou", "hit"), alpha: float = 0.05):
    """One row per (model, method, metric, characteristic) of ``per_image`` (columns model,
    method, the metrics, the characteristics): :func:`regress`, with ``p_bonferroni`` over the
    characteristics of a (model, method, metric)."""
    rows = []
    for (model, method), group in per_image.groupby(["model", "method"], sort=False):
        for metric in metrics:
            fits = [
                {
                    "model": model,
                    "method": method,
                    "metric": metric,
                    "characteristic": f,
                    **regress(group[metric], group[f], alpha=alpha),
                }
                for f in FEATURES
            ]
            tested = sum(1 for r in fits if not np.isnan(r["p"]))
            for r in fits:
                r["p_bonferroni"] = min(1.0, r["p"] * tested) if tested else np.nan
            rows += fits
    columns = [
        "model",
        "method",
        "metric",
        "characteristic",
        "n",
        "slope",
        "slope_lo",
        "slope_hi",
        "p",
        "p_bonferroni",
        "spearman",
        "spearman_p",
    ]
    return pd.DataFrame(rows, columns=columns)
