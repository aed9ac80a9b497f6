"""The "Localisation (cheXlocalize protocol)" section of a dataset's scorecard (Markdown)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from saliency_audit.localize.features import FEATURES
from saliency_audit.stats.tables import markdown_table

HEADING = "Localisation (cheXlocalize protocol)"
SLICE_TEXT = {
    "positives": "every positive test image (a blank segmentation scores IoU 0)",
    "true_positives": "the true-positive slice (positive test images with a non-blank "
    "segmentation; cheXlocalize's default)",
    "all": "every test image (a negative's segmentation scores IoU 0, a blank one is not scored)",
}


def _num(x, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _ci(mean, lo, hi, digits: int = 2) -> str:
    if mean is None or np.isnan(mean):
        return "-"
    if np.isnan(lo) or np.isnan(hi):
        return _num(mean, digits)
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    return markdown_table(pd.DataFrame(rows, columns=header), index=False)


def _setup(settings: Mapping, thresholds: pd.DataFrame) -> str:
    scheme = settings["threshold"]
    grid = settings["grid"]
    if scheme == "validation":
        n = int(thresholds["val_positives"].iloc[0]) if len(thresholds) else 0
        how = (
            f"one threshold per model and method, tuned to the best mIoU on the validation "
            f"split's {n} positive images (grid {min(grid):g}-{max(grid):g})"
        )
    elif scheme == "otsu":
        how = "Otsu's threshold per map"
    else:
        how = "a threshold tuned on the other half of the test images (2-fold cross-fitting)"
    text = f"Segmentation: the min-max normalised map above {how}"
    if settings["gating"]:
        n = int(thresholds["val_images"].iloc[0]) if len(thresholds) else 0
        pg = settings["probability_grid"]
        text += (
            f"; blank when the classifier's probability is below a cutoff tuned on all {n} "
            f"validation images (grid {min(pg):g}-{max(pg):g})"
        )
    return (
        text + f". Evaluated on {SLICE_TEXT[settings['evaluate_on']]}; 95% CIs from "
        f"{settings['n_boot']} bootstrap resamples of the images. Precision, recall and "
        "specificity pool the pixels of the slice's images.\n"
    )


def section(
    *,
    dataset: str,
    finding: str,
    settings: Mapping,
    thresholds: pd.DataFrame,
    summary: pd.DataFrame,
    comparisons: pd.DataFrame,
    regressions: pd.DataFrame,
    primary: str,
) -> str:
    """The section's Markdown (a ``###`` heading, to sit inside a dataset's ``##`` one)."""
    slice_ = settings["evaluate_on"]
    parts = [f"### {HEADING}\n", f"Finding: **{finding}**. " + _setup(settings, thresholds)]
    cut = summary[summary["slice"] == slice_]
    tuned = {(r.model, r.method): r for r in thresholds.itertuples()}
    rows = []
    for (model, method), g in cut.groupby(["model", "method"], sort=False):
        by = {r.metric: r for r in g.itertuples()}
        t = tuned.get((model, method))
        if t is None:
            threshold, cutoff = f"> {settings['benchmark_threshold']:g} (benchmark)", "-"
            if model == "HUMAN":
                threshold = "readers' segmentations"
        else:
            threshold = "Otsu" if np.isnan(t.threshold) else _num(t.threshold, 2)
            cutoff = _num(t.probability_cutoff, 1)
        rows.append(
            [
                model,
                method,
                threshold,
                cutoff,
                _ci(by["miou"].mean, by["miou"].lo, by["miou"].hi),
                _ci(by["hit_rate"].mean, by["hit_rate"].lo, by["hit_rate"].hi),
                _num(by["precision"].mean),
                _num(by["recall"].mean),
                _num(by["specificity"].mean),
                str(int(by["miou"].n)),
            ]
        )
    parts.append(
        _table(
            [
                "model",
                "method",
                "threshold",
                "prob. cutoff",
                "mIoU [95% CI]",
                "hit rate [95% CI]",
                "precision",
                "recall",
                "specificity",
                "n (IoU)",
            ],
            rows,
        )
    )
    if len(comparisons):
        rows = []
        for (model, method, bench), g in comparisons.groupby(
            ["model", "method", "benchmark"], sort=False
        ):
            by = {r.metric: r for r in g.itertuples()}
            cells = [model, method, bench]
            for metric in ("miou", "hit_rate"):
                r = by.get(metric)
                if r is None:
                    cells += ["-", "-"]
                    continue
                cells.append(_ci(r.difference, r.difference_lo, r.difference_hi))
                cells.append(_ci(r.pct_decrease, r.pct_decrease_lo, r.pct_decrease_hi, 1))
            rows.append(cells)
        parts.append(
            "Against the benchmarks (paired bootstrap over the same images; percentage "
            "decrease = (benchmark - saliency) / benchmark x 100, cheXlocalize's measure):\n"
        )
        parts.append(
            _table(
                [
                    "model",
                    "method",
                    "benchmark",
                    "mIoU difference [95% CI]",
                    "mIoU % decrease [95% CI]",
                    "hit-rate difference [95% CI]",
                    "hit-rate % decrease [95% CI]",
                ],
                rows,
            )
        )
    reg = regressions[(regressions["model"] == primary) & (regressions["metric"] == "iou")]
    if len(reg):
        methods = list(dict.fromkeys(reg["method"]))
        rows = []
        for feature, label in FEATURES.items():
            cells = [label]
            for method in methods:
                r = reg[(reg["method"] == method) & (reg["characteristic"] == feature)]
                if r.empty or np.isnan(r["slope"].iloc[0]):
                    cells.append("-")
                    continue
                r = r.iloc[0]
                star = " *" if r["p_bonferroni"] < 1 - 0.95 else ""
                cells.append(f"{_ci(r['slope'], r['slope_lo'], r['slope_hi'])}{star}")
            rows.append(cells)
        parts.append(
            f"Why localisation fails ({primary}): slope of IoU on each characteristic scaled "
            "to [0, 1] (least squares, 95% CI; * Bonferroni-adjusted p < 0.05 over the five); "
            f"hit, Spearman correlations and every model in `{dataset}/localize/"
            "regressions.csv`:\n"
        )
        parts.append(_table(["characteristic", *methods], rows))
    parts.append(
        f"Files: `{dataset}/localize/` (per-image scores, thresholds, summary, comparisons, "
        "regressions; segmentations and ground truth as cheXlocalize JSON, which its "
        "`eval.py` reads unchanged).\n"
    )
    return "\n".join(parts)
