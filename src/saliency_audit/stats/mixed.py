"""The linear mixed-effects model of one metric (statsmodels MixedLM).

The model, as in the paper (which fitted it with R's lme4/lmerTest)::

    value ~ C(method, Treatment(reference=<baseline>)) + (1 | image_id)

i.e. a fixed effect per method and a random intercept per image (statsmodels ``MixedLM``, REML,
``groups=image_id``). The design matrix is built explicitly (columns ``Intercept`` and
``method[T.<name>]``), which is the same model as the formula above with names that cannot be
mangled by odd method labels.

Optimizers: L-BFGS, then Powell, then Nelder-Mead until one converges (the derivative-free ones
converge when the random-intercept variance sits on its boundary, zero, where the gradient
methods fail; lme4's default optimizer is derivative-free too). A fit that cannot be used
(an exception or no convergence with every optimizer, a Hessian that is not positive definite,
non-finite standard errors, zero residual variance, all-identical values, or only one
observation per image so that the random intercept is not identifiable) says why in
``MixedFit.reason``; :mod:`.compare` then falls back to :mod:`.fallback`'s tests.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .data import is_constant

#: tried in turn until one converges: gradient-based L-BFGS first (fast), then the derivative-free
#: Powell and Nelder-Mead, which also converge when the random-intercept variance is on the
#: boundary (zero), where the gradient methods fail (lme4 uses the derivative-free BOBYQA).
OPTIMIZERS = ("lbfgs", "powell", "nm")


@dataclass
class MixedFit:
    """A fitted (or failed) mixed model of one metric.

    ``result`` is the statsmodels ``MixedLMResults`` (``None`` when the fit failed or was
    skipped); ``ok`` says whether its fixed effects can be used, ``reason`` why not. ``levels``
    are the methods in the model, ``reference`` the treatment-coded reference level, ``data``
    the rows used (NaN values removed; ``n_dropped`` counts them).
    """

    metric: str
    reference: str
    levels: list[str]
    data: pd.DataFrame
    n_dropped: int = 0
    result: Any = None
    ok: bool = False
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def params(self) -> np.ndarray:
        return np.asarray(self.result.fe_params, dtype=float)

    @property
    def cov(self) -> np.ndarray:
        k = len(self.levels)
        return np.asarray(self.result.cov_params(), dtype=float)[:k, :k]

    def mean_vector(self, method: str) -> np.ndarray:
        """Linear combination of the fixed effects that gives ``method``'s mean."""
        vec = np.zeros(len(self.levels))
        vec[0] = 1.0
        if method != self.reference:
            vec[self.levels.index(method)] = 1.0
        return vec

    def exog_names(self) -> list[str]:
        return ["Intercept"] + [f"method[T.{m}]" for m in self.levels if m != self.reference]


def _design(data: pd.DataFrame, levels: list[str], reference: str) -> pd.DataFrame:
    cols = {"Intercept": np.ones(len(data))}
    for m in levels:
        if m != reference:
            cols[f"method[T.{m}]"] = (data["method"].to_numpy() == m).astype(float)
    return pd.DataFrame(cols, index=data.index)


def fit_model(
    data: pd.DataFrame, levels: list[str], reference: str, metric: str, n_dropped: int = 0
) -> MixedFit:
    """Fit the model to ``data`` (one row per (method, image_id) of ``levels``); never raises
    for degenerate data (``fit.ok`` False with ``fit.reason`` instead)."""
    # levels are ordered reference first so that column j of the design is levels[j]
    ordered = [reference] + [m for m in levels if m != reference]
    fit = MixedFit(metric, reference, ordered, data, n_dropped)
    y = data["value"].to_numpy(dtype=float)
    per_image = data.groupby("image_id").size()
    if len(ordered) < 2:
        fit.reason = "only one method: the random intercept is not identifiable"
        return fit
    if per_image.max() < 2:
        fit.reason = "one observation per image: the random intercept is not identifiable"
        return fit
    if is_constant(y):
        fit.reason = "all values identical (zero variance)"
        return fit
    if len(y) <= len(ordered) + 1:
        fit.reason = "too few observations for the mixed model"
        return fit
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    exog = _design(data, ordered, reference)
    groups = data["image_id"].to_numpy()
    reasons = []
    for optimizer in OPTIMIZERS:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = sm.MixedLM(y, exog, groups=groups).fit(reml=True, method=[optimizer])
        except Exception as exc:  # LinAlgError, ValueError, ... -> next optimizer / fallback
            reasons.append(f"{optimizer}: {type(exc).__name__}: {exc}")
            continue
        conv = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
        reason = _check_result(result, conv, y, len(ordered))
        fit.result = result
        fit.notes = [f"optimizer {optimizer}"] + [
            str(w.message).splitlines()[0] for w in caught if issubclass(w.category, Warning)
        ]
        if not reason:
            fit.ok, fit.reason = True, ""
            return fit
        reasons.append(f"{optimizer}: {reason}")
    fit.reason = "MixedLM failed (" + "; ".join(reasons) + ")"
    return fit


def _check_result(result, conv: list[str], y: np.ndarray, k: int) -> str:
    """Why a MixedLM result cannot be used ('' when it can)."""
    cov = np.asarray(result.cov_params(), dtype=float)[:k, :k]
    params = np.asarray(result.fe_params, dtype=float)
    scale = float(result.scale)
    if not getattr(result, "converged", True):
        return "did not converge"
    if any("Hessian" in m and "positive definite" in m for m in conv):
        return "Hessian not positive definite (singular fit)"
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        return "non-finite estimates or standard errors"
    if np.any(np.diag(cov) <= 0):
        return "zero standard errors (singular fit)"
    if not np.isfinite(scale) or scale <= 1e-12 * max(float(np.var(y)), 1e-300):
        return "zero residual variance (singular fit)"
    return ""
