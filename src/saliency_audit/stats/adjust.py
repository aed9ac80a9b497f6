"""Multiple comparisons: p-values adjusted over all rows of one family of contrasts.

``adjust`` is any ``statsmodels.stats.multitest.multipletests`` method (default ``"holm"``),
``"none"``, or one of two simultaneous (max-|z|) adjustments computed from the joint normal
distribution of the contrast estimates, like ``multcomp``'s default ``"single-step"`` method:

* ``"single-step"``: over the requested contrasts;
* ``"tukey"``: over all pairwise differences of the fitted methods plus the requested contrasts
  (the paper: "Tukey honestly significant difference test was used for post hoc analysis",
  with R's multComp package).

The simultaneous p-values are Monte Carlo estimates (seeded, ``n_draws`` draws, never below the
raw p-value); they need the mixed model, so a family that fell back uses Holm instead (the
``adjust`` column records what was applied).
"""

from __future__ import annotations

import numpy as np

from .options import SIMULTANEOUS


def adjust_family(out, fit, specs, vecs, extra_var, adjust, seed, n_draws) -> None:
    """Set ``p_adj`` and ``adjust`` of the contrasts table ``out`` (one family) in place."""
    p = out["p_value"].to_numpy(dtype=float)
    finite = np.isfinite(p)
    padj = np.full(len(p), np.nan)
    method = adjust
    if adjust in SIMULTANEOUS and not (fit.ok and all(v is not None for v in vecs)):
        method = "holm"
        label = f"holm (instead of {adjust}: mixed model not used)"
    else:
        label = adjust
    if method == "none":
        padj = p.copy()
    elif method in SIMULTANEOUS:
        padj = _simultaneous(out, fit, specs, vecs, extra_var, method, seed, n_draws)
    elif finite.any():
        from statsmodels.stats.multitest import multipletests

        padj[finite] = multipletests(p[finite], method=method)[1]
    out["p_adj"] = padj
    out["adjust"] = label


def _simultaneous(out, fit, specs, vecs, extra_var, method, seed, n_draws) -> np.ndarray:
    L = np.vstack(vecs)
    cov = L @ fit.cov @ L.T
    # independent baseline samples add their variance (shared samples covary)
    for i, si in enumerate(specs):
        for j, sj in enumerate(specs):
            if si.kind == "sample" and sj.kind == "sample" and si.sample_id == sj.sample_id:
                cov[i, j] += extra_var[i]
    n_req = len(specs)
    if method == "tukey":
        k = len(fit.levels)
        pairs = []
        for a in range(k):
            for b in range(a + 1, k):
                vec = fit.mean_vector(fit.levels[a]) - fit.mean_vector(fit.levels[b])
                pairs.append(vec)
        if pairs:
            P = np.vstack(pairs)
            cross = P @ fit.cov @ L.T
            cov = np.block([[cov, cross.T], [cross, P @ fit.cov @ P.T]])
    se = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    corr = cov / np.outer(se, se)
    w, V = np.linalg.eigh(corr)
    A = V * np.sqrt(np.clip(w, 0, None))
    rng = np.random.default_rng(seed)
    z_obs = np.abs(out["statistic"].to_numpy(dtype=float))
    exceed = np.zeros(n_req)
    done = 0
    chunk = 20_000
    while done < n_draws:
        m = min(chunk, n_draws - done)
        draws = np.abs(rng.standard_normal((m, corr.shape[0])) @ A.T).max(axis=1)
        exceed += (draws[:, None] >= z_obs[None, :]).sum(axis=0)
        done += m
    mc = (exceed + 1) / (n_draws + 1)
    return np.maximum(mc, out["p_value"].to_numpy(dtype=float)).clip(0, 1)
