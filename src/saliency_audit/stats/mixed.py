"""Linear mixed-effects model and contrasts of saliency methods against baselines.

Input: a tidy long table with the columns ``dataset, model, method, step, image_id, metric,
value`` (one row per image, method and metric; ``value`` a float; rows with a missing value are
dropped and counted).

The model, as in the paper (which fitted it with R's lme4/lmerTest)::

    value ~ C(method, Treatment(reference=<baseline>)) + (1 | image_id)

i.e. a fixed effect per method and a random intercept per image (statsmodels ``MixedLM``, REML,
``groups=image_id``). The design matrix is built explicitly (columns ``Intercept`` and
``method[T.<name>]``), which is the same model as the formula above with names that cannot be
mangled by odd method labels. Contrasts are Wald tests (z statistics) of linear combinations of
the fixed effects, as R's ``multcomp::glht`` does for ``lmer`` fits.

Baselines come in three kinds:

* a **method label** present in the data (``"AVG"``, ``"UNET"``, ``"RETINANET"``): a paired
  comparison on the same images;
* a **constant** (the low SSIM baseline 0.5): the method's model-based mean minus the constant;
* a **sample** of independent values (the 50 random-pair SSIMs of the randomization baseline):
  the method's mean minus the sample mean, whose sampling variance (var / n) is added to the
  contrast's variance.

Optimizers: L-BFGS, then Powell, then Nelder-Mead until one converges (the derivative-free ones
converge when the random-intercept variance sits on its boundary, zero, where the gradient
methods fail; lme4's default optimizer is derivative-free too).

Fallback: when the mixed model cannot be used (an exception or no convergence with every
optimizer, a Hessian that is not positive definite, non-finite standard errors, zero residual
variance, all-identical values, or only one observation per image so that the random intercept
is not identifiable), every contrast of that call is tested on per-image differences instead:
a **paired t-test** (or a one-sample t-test of ``value - constant``; Welch's t-test against a
sample baseline), or with ``fallback="wilcoxon"`` a Wilcoxon signed-rank test (Mann-Whitney U
against a sample). When the per-image differences have zero variance (constant data) the t
statistic is undefined; the exact Wilcoxon signed-rank p-value is used (all differences equal
and non-zero: ``2 * 0.5**n``; all zero: 1). The ``model`` column says which test produced each
row and ``note`` says why.

Multiple comparisons: p-values are adjusted over all rows returned by one call (one family).
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

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import InputError

log = logging.getLogger(__name__)

COLUMNS = ("dataset", "model", "method", "step", "image_id", "metric", "value")
KEY_COLUMNS = COLUMNS[:-1]
PAPER_METHODS = ("GRAD", "SG", "IG", "SIG", "GCAM", "XRAI", "GBP", "GGCAM")
LOW_BASELINE = "AVG"
HIGH_BASELINES = ("UNET", "RETINANET")
BASELINE_LABELS = (LOW_BASELINE, *HIGH_BASELINES)
SIMULTANEOUS = ("single-step", "tukey")
#: tried in turn until one converges: gradient-based L-BFGS first (fast), then the derivative-free
#: Powell and Nelder-Mead, which also converge when the random-intercept variance is on the
#: boundary (zero), where the gradient methods fail (lme4 uses the derivative-free BOBYQA).
OPTIMIZERS = ("lbfgs", "powell", "nm")
MULTITEST_METHODS = (
    "bonferroni",
    "sidak",
    "holm-sidak",
    "holm",
    "simes-hochberg",
    "hommel",
    "fdr_bh",
    "fdr_by",
    "fdr_tsbh",
    "fdr_tsbky",
)
FALLBACKS = ("paired-t", "wilcoxon")

CONTRAST_COLUMNS = [
    "dataset",
    "metric",
    "target",
    "baseline",
    "baseline_kind",
    "n",
    "n_excluded",
    "target_mean",
    "baseline_mean",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "p_value",
    "p_adj",
    "adjust",
    "alpha",
    "model",
    "note",
]


# --------------------------------------------------------------------------- input checks


def check_columns(df: Any, required: Iterable[str] = COLUMNS, what: str = "metrics table") -> None:
    """Raise :class:`InputError` naming every required column that ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"has {', '.join(repr(str(c)) for c in df.columns)}"
        )


def clean(
    df: pd.DataFrame, required: Iterable[str] = COLUMNS, what: str = "metrics table"
) -> tuple[pd.DataFrame, int]:
    """Validate a tidy metrics table; return ``(copy without NaN values, number dropped)``.

    Key columns become stripped strings; ``value`` becomes float. A value that is not a number
    (e.g. ``"abc"``) raises :class:`InputError` naming the column and the value.
    """
    required = list(required)
    check_columns(df, required, what)
    out = df.copy()
    for col in required:
        if col == "value":
            continue
        if out[col].isna().any():
            raise InputError(f"{what}: column {col!r} has an empty value (row {_first(out[col])})")
        out[col] = out[col].astype(str).str.strip()
    if "value" in required:
        raw = out["value"]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna()
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            bad_value = raw.iloc[i]
            if not (isinstance(bad_value, float) and math.isnan(bad_value)):
                raise InputError(
                    f"{what}: column 'value' holds a non-numeric value {bad_value!r} "
                    f"(row {out.index[i]!r})"
                )
        num = num.astype(float).replace([np.inf, -np.inf], np.nan)
        out["value"] = num
        n_dropped = int(num.isna().sum())
        if n_dropped:
            log.warning("%s: dropped %d row(s) with a missing (NaN) value", what, n_dropped)
            out = out[num.notna()]
    else:
        n_dropped = 0
    return out, n_dropped


_TOL = 1e-12


def _constant(x: np.ndarray) -> bool:
    """All values equal up to floating-point noise (e.g. 0.1 + 0.2 vs 0.3)."""
    x = np.asarray(x, dtype=float)
    return len(x) == 0 or float(np.ptp(x)) <= _TOL * max(1.0, float(np.max(np.abs(x))))


def _first(series: pd.Series):
    return series.index[series.isna().to_numpy()][0]


def method_order(methods: Iterable[str]) -> list[str]:
    """Unique method labels: the paper's methods in the paper's order, then the rest as given
    (baselines AVG, UNET, RETINANET last)."""
    seen = list(dict.fromkeys(str(m) for m in methods))
    paper = [m for m in PAPER_METHODS if m in seen]
    base = [m for m in BASELINE_LABELS if m in seen]
    rest = [m for m in seen if m not in PAPER_METHODS and m not in BASELINE_LABELS]
    return paper + rest + base


def one_value(df: pd.DataFrame, column: str, what: str) -> str:
    """The single value of ``column`` in ``df``; :class:`InputError` when there are several."""
    values = list(dict.fromkeys(df[column].astype(str)))
    if len(values) > 1:
        raise InputError(
            f"{what}: column {column!r} has several values ({', '.join(values)}); "
            f"select one {column} first"
        )
    return values[0] if values else ""


def _metric_rows(df: pd.DataFrame, metric: str, what: str) -> tuple[pd.DataFrame, int]:
    """Rows of one metric, validated, NaN values dropped (and counted)."""
    check_columns(df, COLUMNS, what)
    metric = str(metric)
    mask = df["metric"].astype(str).str.strip() == metric
    if not mask.any():
        have = ", ".join(sorted(set(df["metric"].astype(str)))) or "none"
        raise InputError(f"{what}: no rows with metric == {metric!r} (column 'metric' has {have})")
    sub, n_dropped = clean(df[mask], what=what)
    if sub.empty:
        raise InputError(f"{what}: every value of metric {metric!r} is missing (column 'value')")
    return sub, n_dropped


def _check_unique(sub: pd.DataFrame, methods: Iterable[str], what: str, duplicates: str):
    rows = sub[sub["method"].isin(list(methods))]
    dup = rows.duplicated(["method", "image_id"], keep=False)
    if not dup.any():
        return rows
    if duplicates == "mean":
        n = int(dup.sum())
        log.warning("%s: averaging %d rows that share (method, image_id)", what, n)
        keys = [c for c in KEY_COLUMNS if c not in ("model", "step")]
        agg = rows.groupby(keys, sort=False, as_index=False)["value"].mean()
        cols = ["method", "image_id", "model", "step"]
        first = rows.drop_duplicates(["method", "image_id"])[cols]
        return agg.merge(first, on=["method", "image_id"], how="left")[list(COLUMNS)]
    if duplicates != "error":
        raise InputError(f"duplicates must be 'error' or 'mean', got {duplicates!r}")
    example = rows[dup].iloc[0]
    where = rows[dup].groupby("method")["image_id"].nunique()
    detail = ", ".join(f"{m}: {k} images" for m, k in where.items())
    raise InputError(
        f"{what}: several rows per (method, image_id) ({detail}; e.g. method "
        f"{example['method']!r}, image_id {example['image_id']!r}, models "
        f"{sorted(set(rows[dup]['model']))}, steps {sorted(set(rows[dup]['step']))}); "
        "select one model/step (column 'model' / 'step') or pass duplicates='mean'"
    )


# --------------------------------------------------------------------------- the mixed model


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


def _fit(data: pd.DataFrame, levels: list[str], reference: str, metric: str, n_dropped: int):
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
    if _constant(y):
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


def fit_mixed(
    df: pd.DataFrame,
    metric: str,
    *,
    reference: str | None = None,
    methods: Sequence[str] | None = None,
    duplicates: str = "error",
) -> MixedFit:
    """Fit ``value ~ C(method, Treatment(reference)) + (1 | image_id)`` to one metric.

    ``df``: tidy metrics table of one dataset (columns :data:`COLUMNS`); rows of ``metric``
    and (when given) of ``methods`` are used, NaN values dropped. ``reference`` defaults to the
    first baseline label present (AVG, UNET, RETINANET), else the first method. Exactly one
    row per (method, image_id) is required (``duplicates="mean"`` averages repeats instead).

    Returns a :class:`MixedFit`; ``fit.ok`` is False (with ``fit.reason``) when the model
    failed, did not converge or is singular -- it never raises for constant data.
    """
    what = f"metrics table (metric {metric!r})"
    sub, n_dropped = _metric_rows(df, metric, what)
    one_value(sub, "dataset", what)
    levels = method_order(methods if methods is not None else sub["method"])
    missing = [m for m in levels if m not in set(sub["method"])]
    if missing:
        raise InputError(
            f"{what}: no rows for method(s) {', '.join(missing)} in column 'method' "
            f"(has {', '.join(method_order(sub['method']))})"
        )
    data = _check_unique(sub, levels, what, duplicates)
    if reference is None:
        base = [m for m in BASELINE_LABELS if m in levels]
        reference = base[0] if base else levels[0]
    if reference not in levels:
        raise InputError(f"{what}: reference method {reference!r} not among {levels}")
    fit = _fit(data, levels, reference, str(metric), n_dropped)
    if not fit.ok:
        log.info("%s: mixed model not used: %s", what, fit.reason)
    return fit


# --------------------------------------------------------------------------- contrasts


@dataclass
class _Spec:
    target: str
    baseline: str
    kind: str  # "method" | "constant" | "sample"
    constant: float = math.nan
    sample: np.ndarray | None = None
    sample_id: int = -1


def _baseline_specs(
    targets: Sequence[str], baselines: Sequence[Any], what: str
) -> tuple[list[_Spec], list[str]]:
    specs, method_baselines = [], []
    for b in baselines:
        if isinstance(b, bool) or b is None:
            raise InputError(f"{what}: baseline {b!r} is neither a method label nor a number")
        if isinstance(b, int | float | np.number):
            value = float(b)
            if not math.isfinite(value):
                raise InputError(f"{what}: constant baseline {b!r} is not finite")
            label = f"{value:g}"
            specs += [_Spec(t, label, "constant", constant=value) for t in targets]
        else:
            label = str(b).strip()
            method_baselines.append(label)
            specs += [_Spec(t, label, "method") for t in targets if t != label]
    return specs, method_baselines


def contrasts(
    df: pd.DataFrame,
    metric: str,
    targets: Sequence[str] | None = None,
    baselines: Sequence[str | float] = (LOW_BASELINE,),
    alpha: float = 0.05,
    adjust: str = "holm",
    *,
    fallback: str = "paired-t",
    duplicates: str = "error",
    seed: int = 0,
    n_draws: int = 100_000,
) -> pd.DataFrame:
    """One row per (target method, baseline): target minus baseline, CI, raw and adjusted p.

    ``df``: tidy metrics table of **one dataset** (columns :data:`COLUMNS`), one row per
    (method, image_id) for the rows used; ``metric`` selects the rows (e.g. ``"auprc"``).
    ``targets``: saliency methods (default: every method in the data that is not a baseline,
    in the paper's order). ``baselines``: method labels in the data (paired comparison on the
    same images, e.g. ``"AVG"``, ``"UNET"``) and/or numbers (a constant, e.g. ``0.5``).

    Columns (:data:`CONTRAST_COLUMNS`): ``estimate`` = target mean minus baseline mean (a
    constant for number baselines), ``ci_low``/``ci_high`` its unadjusted ``1 - alpha``
    confidence interval, ``p_value`` two-sided raw, ``p_adj`` adjusted over all rows of this
    call with ``adjust``, ``n`` images used (paired images for method baselines),
    ``n_excluded`` images of the target or baseline without a partner, ``model`` the test
    used (``mixedlm`` or a fallback, see the module docstring), ``note`` why a fallback was
    used.
    """
    what = f"metrics table (metric {metric!r})"
    sub, n_dropped = _metric_rows(df, metric, what)
    return _contrast_frame(
        sub,
        str(metric),
        targets,
        baselines,
        alpha,
        adjust,
        fallback=fallback,
        duplicates=duplicates,
        seed=seed,
        n_draws=n_draws,
        n_dropped=n_dropped,
        what=what,
    )


def sample_contrasts(
    df: pd.DataFrame,
    metric: str,
    samples: Mapping[str, Any] | Any,
    targets: Sequence[str] | None = None,
    alpha: float = 0.05,
    adjust: str = "holm",
    *,
    label: str = "baseline",
    fallback: str = "paired-t",
    duplicates: str = "error",
    seed: int = 0,
    n_draws: int = 100_000,
) -> pd.DataFrame:
    """Contrasts of each target method against its own independent baseline sample/number.

    ``samples`` maps method -> a number (a constant) or an array of independent values (e.g.
    the 50 random-pair SSIMs of that method), or is one number/array for every method. Same
    columns as :func:`contrasts`; ``baseline`` is ``label``.
    """
    what = f"metrics table (metric {metric!r})"
    sub, n_dropped = _metric_rows(df, metric, what)
    targets = _default_targets(sub, targets, (), what)
    specs = []
    for k, t in enumerate(targets):
        value = samples.get(t) if isinstance(samples, Mapping) else samples
        if value is None:
            raise InputError(
                f"{what}: no baseline value for method {t!r} "
                f"(baseline has {', '.join(map(str, samples))})"
            )
        arr = np.asarray(value, dtype=float).ravel()
        arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            raise InputError(f"{what}: baseline for method {t!r} has no finite value")
        if np.ndim(value) == 0:
            specs.append(_Spec(t, label, "constant", constant=float(arr[0])))
        else:
            sid = k if isinstance(samples, Mapping) else 0
            specs.append(_Spec(t, label, "sample", sample=arr, sample_id=sid))
    return _run(
        sub,
        str(metric),
        targets,
        specs,
        [],
        alpha,
        adjust,
        fallback,
        duplicates,
        seed,
        n_draws,
        n_dropped,
        what,
    )


def _default_targets(sub, targets, method_baselines, what) -> list[str]:
    present = method_order(sub["method"])
    if targets is None:
        skip = set(BASELINE_LABELS) | set(method_baselines)
        targets = [m for m in present if m not in skip]
    else:
        targets = [str(t).strip() for t in targets]
        missing = [t for t in targets if t not in present]
        if missing:
            raise InputError(
                f"{what}: no rows for target method(s) {', '.join(missing)} in column 'method' "
                f"(has {', '.join(present)})"
            )
    if not targets:
        raise InputError(f"{what}: no target (saliency) methods in column 'method'")
    return list(targets)


def _contrast_frame(
    sub,
    metric,
    targets,
    baselines,
    alpha,
    adjust,
    *,
    fallback,
    duplicates,
    seed,
    n_draws,
    n_dropped,
    what,
):
    if isinstance(baselines, str | int | float):
        baselines = [baselines]
    if not baselines:
        raise InputError(f"{what}: no baselines given")
    labels = [str(b).strip() for b in baselines if isinstance(b, str)]
    targets = _default_targets(sub, targets, labels, what)
    specs, method_baselines = _baseline_specs(targets, list(baselines), what)
    present = set(sub["method"])
    missing = [b for b in method_baselines if b not in present]
    if missing:
        raise InputError(
            f"{what}: no rows for baseline method(s) {', '.join(missing)} in column 'method' "
            f"(has {', '.join(method_order(present))})"
        )
    return _run(
        sub,
        metric,
        targets,
        specs,
        method_baselines,
        alpha,
        adjust,
        fallback,
        duplicates,
        seed,
        n_draws,
        n_dropped,
        what,
    )


def _check_options(alpha, adjust, fallback):
    if not (isinstance(alpha, int | float) and 0 < float(alpha) < 1):
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}")
    if adjust not in (*MULTITEST_METHODS, *SIMULTANEOUS, "none"):
        raise InputError(
            f"adjust must be one of {', '.join((*MULTITEST_METHODS, *SIMULTANEOUS, 'none'))}; "
            f"got {adjust!r}"
        )
    if fallback not in FALLBACKS:
        raise InputError(f"fallback must be one of {', '.join(FALLBACKS)}; got {fallback!r}")


def _run(
    sub,
    metric,
    targets,
    specs,
    method_baselines,
    alpha,
    adjust,
    fallback,
    duplicates,
    seed,
    n_draws,
    n_dropped,
    what,
) -> pd.DataFrame:
    _check_options(alpha, adjust, fallback)
    dataset = one_value(sub, "dataset", what)
    levels = method_order([*targets, *method_baselines])
    data = _check_unique(sub, levels, what, duplicates)
    reference = method_baselines[0] if method_baselines else levels[0]
    fit = _fit(data, levels, reference, metric, n_dropped)
    if not fit.ok:
        log.info("%s: mixed model not used (%s); fallback %s", what, fit.reason, fallback)
    wide = data.pivot(index="image_id", columns="method", values="value")
    rows, vecs, extra_var = [], [], []
    for spec in specs:
        row, vec, var = _one_contrast(spec, fit, wide, alpha, fallback)
        rows.append(row)
        vecs.append(vec)
        extra_var.append(var)
    out = pd.DataFrame(rows)
    out.insert(0, "metric", metric)
    out.insert(0, "dataset", dataset)
    out["alpha"] = float(alpha)
    _adjust(out, fit, specs, vecs, extra_var, adjust, seed, n_draws)
    out.attrs["n_dropped"] = n_dropped
    out.attrs["mixed_reason"] = fit.reason
    return out[CONTRAST_COLUMNS]


def _one_contrast(spec: _Spec, fit: MixedFit, wide: pd.DataFrame, alpha: float, fallback: str):
    t_vals = wide[spec.target].dropna()
    row = {"target": spec.target, "baseline": spec.baseline, "baseline_kind": spec.kind}
    row["target_mean"] = float(t_vals.mean()) if len(t_vals) else math.nan
    if spec.kind == "method":
        b_vals = wide[spec.baseline].dropna()
        both = wide[[spec.target, spec.baseline]].dropna()
        diffs = (both[spec.target] - both[spec.baseline]).to_numpy()
        row["baseline_mean"] = float(b_vals.mean()) if len(b_vals) else math.nan
        row["n"] = len(both)
        row["n_excluded"] = len(set(t_vals.index) ^ set(b_vals.index))
    elif spec.kind == "constant":
        diffs = t_vals.to_numpy() - spec.constant
        row["baseline_mean"] = spec.constant
        row["n"] = len(t_vals)
        row["n_excluded"] = 0
    else:
        diffs = None
        row["baseline_mean"] = float(np.mean(spec.sample))
        row["n"] = len(t_vals)
        row["n_excluded"] = 0
    sample_var = 0.0
    if spec.kind == "sample":
        s = spec.sample
        sample_var = float(np.var(s, ddof=1)) / len(s) if len(s) > 1 else 0.0
    zcrit = float(sps.norm.ppf(1 - alpha / 2))
    if fit.ok:
        vec = fit.mean_vector(spec.target)
        if spec.kind == "method":
            vec = vec - fit.mean_vector(spec.baseline)
        est = float(vec @ fit.params) - (spec.constant if spec.kind == "constant" else 0.0)
        if spec.kind == "sample":
            est -= row["baseline_mean"]
        se = math.sqrt(float(vec @ fit.cov @ vec) + sample_var)
        z = est / se
        row.update(
            estimate=est,
            se=se,
            ci_low=est - zcrit * se,
            ci_high=est + zcrit * se,
            statistic=z,
            p_value=float(2 * sps.norm.sf(abs(z))),
            model="mixedlm",
            note="Wald z test of fixed effects (REML)",
        )
        return row, vec, sample_var
    if spec.kind == "sample":
        row.update(_two_sample(t_vals.to_numpy(), spec.sample, alpha, fallback))
    else:
        row.update(_one_sample(diffs, alpha, fallback, paired=spec.kind == "method"))
    row["note"] = f"{row['note']}; mixed model not used: {fit.reason}"
    return row, None, sample_var


def _one_sample(d: np.ndarray, alpha: float, fallback: str, paired: bool) -> dict:
    """Test mean(d) == 0 for per-image differences d (never raises on constant data)."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    name = "paired-t" if paired else "one-sample-t"
    if n == 0:
        return dict(
            estimate=math.nan,
            se=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            statistic=math.nan,
            p_value=math.nan,
            model=name,
            note="no images to compare",
        )
    est = float(d.mean())
    if _constant(d):
        # zero-variance differences: exact Wilcoxon signed-rank (all ranks tied, same sign)
        est = float(np.median(d)) if abs(est) > _TOL else 0.0
        p = 1.0 if est == 0 else min(1.0, 2 * 0.5**n)
        return dict(
            estimate=est,
            se=0.0,
            ci_low=est,
            ci_high=est,
            statistic=math.nan,
            p_value=p,
            model="wilcoxon",
            note="per-image differences have zero variance: exact Wilcoxon signed-rank test",
        )
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
        return dict(
            estimate=est,
            se=se,
            ci_low=ci[0],
            ci_high=ci[1],
            statistic=stat,
            p_value=p,
            model="wilcoxon",
            note="Wilcoxon signed-rank test on per-image differences (CI: t interval)",
        )
    if n < 2:
        return dict(
            estimate=est,
            se=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            statistic=math.nan,
            p_value=math.nan,
            model=name,
            note="one image: no test possible",
        )
    t = est / se
    p = float(2 * sps.t.sf(abs(t), n - 1))
    what = "per-image differences" if paired else "value minus the constant"
    return dict(
        estimate=est,
        se=se,
        ci_low=ci[0],
        ci_high=ci[1],
        statistic=t,
        p_value=p,
        model=name,
        note=f"t test on {what}",
    )


def _two_sample(x: np.ndarray, y: np.ndarray, alpha: float, fallback: str) -> dict:
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
    return dict(
        estimate=est,
        se=se,
        ci_low=ci[0],
        ci_high=ci[1],
        statistic=stat,
        p_value=p,
        model=model,
        note=note,
    )


# --------------------------------------------------------------------------- adjustment


def _adjust(out, fit, specs, vecs, extra_var, adjust, seed, n_draws) -> None:
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
