"""Tests on per-image differences for when the mixed model cannot be used.

A **paired t-test** (or a one-sample t-test of ``value - constant``; Welch's t-test against a
sample baseline), or with ``fallback="wilcoxon"`` a Wilcoxon signed-rank test (Mann-Whitney U
against a sample). When the per-image differences have zero variance (constant data) the t
statistic is undefined; the exact Wilcoxon signed-rank p-value is used (all differences equal
and non-zero: ``2 * 0.5**n``; all zero: 1). Each returns the contrast columns ``estimate, se,
ci_low, ci_high, statistic, p_value, model, note``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from .data import _TOL, is_constant


def _row(estimate, se, ci, statistic, p_value, model, note) -> dict:
    return dict(
        estimate=estimate,
        se=se,
        ci_low=ci[0],
        ci_high=ci[1],
        statistic=statistic,
        p_value=p_value,
        model=model,
        note=note,
    )


def one_sample(d: np.ndarray, alpha: float, fallback: str, paired: bool) -> dict:
    """Test mean(d) == 0 for per-image differences d (never raises on constant data)."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    name = "paired-t" if paired else "one-sample-t"
    nan2 = (math.nan, math.nan)
    if n == 0:
        return _row(math.nan, math.nan, nan2, math.nan, math.nan, name, "no images to compare")
    est = float(d.mean())
    if is_constant(d):
        # zero-variance differences: exact Wilcoxon signed-rank (all ranks tied, same sign)
        est = float(np.median(d)) if abs(est) > _TOL else 0.0
        p = 1.0 if est == 0 else min(1.0, 2 * 0.5**n)
        note = "per-image differences have zero variance: exact Wilcoxon signed-rank test"
        return _row(est, 0.0, (est, est), math.nan, p, "wilcoxon", note)
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    tcrit = float(sps.t.ppf(1 - alpha / 2, n - 1)) if n > 1 else math.nan
    ci = (est - tcrit * se, est + tcrit * se)
    if fallback == "wilcoxon":
        nz = d[d != 0]
        if len(nz) == 0:
            stat, p = math.nan, 1.0
        else:
            res = sps.wilcoxon(nz)
            stat, p = float(res.statistic), float(res.pvalue)
        note = "Wilcoxon signed-rank test on per-image differences (CI: t interval)"
        return _row(est, se, ci, stat, p, "wilcoxon", note)
    if n < 2:
        return _row(est, math.nan, nan2, math.nan, math.nan, name, "one image: no test possible")
    t = est / se
    p = float(2 * sps.t.sf(abs(t), n - 1))
    what = "per-image differences" if paired else "value minus the constant"
    return _row(est, se, ci, t, p, name, f"t test on {what}")


def two_sample(x: np.ndarray, y: np.ndarray, alpha: float, fallback: str) -> dict:
    """Independent samples: Welch's t (or Mann-Whitney U) of mean(x) - mean(y)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    est = float(x.mean() - y.mean()) if len(x) and len(y) else math.nan
    vx = float(x.var(ddof=1)) / len(x) if len(x) > 1 else 0.0
    vy = float(y.var(ddof=1)) / len(y) if len(y) > 1 else 0.0
    se = math.sqrt(vx + vy)
    if not len(x) or not len(y):
        p, stat, ci = math.nan, math.nan, (math.nan, math.nan)
        model, note = "welch-t", "no values to compare"
    elif se <= _TOL * max(1.0, abs(est)):
        # both constant: identical -> no difference; different -> exact rank test, all separated
        if abs(est) <= _TOL:
            est, p = 0.0, 1.0
        else:
            p = min(1.0, 2.0 / math.comb(len(x) + len(y), len(x)))
        stat, ci = math.nan, (est, est)
        model, note = "mann-whitney", "both samples constant: exact Mann-Whitney U"
    else:
        dof = (vx + vy) ** 2 / (
            (vx**2 / (len(x) - 1) if len(x) > 1 else 0.0)
            + (vy**2 / (len(y) - 1) if len(y) > 1 else 0.0)
        )
        tcrit = float(sps.t.ppf(1 - alpha / 2, dof))
        ci = (est - tcrit * se, est + tcrit * se)
        if fallback == "wilcoxon":
            res = sps.mannwhitneyu(x, y, alternative="two-sided")
            stat, p = float(res.statistic), float(res.pvalue)
            model, note = "mann-whitney", "Mann-Whitney U against the baseline sample"
        else:
            stat = est / se
            p = float(2 * sps.t.sf(abs(stat), dof))
            model, note = "welch-t", "Welch t test against the baseline sample"
    return _row(est, se, ci, stat, p, model, note)
