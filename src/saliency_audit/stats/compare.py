"""Contrasts of saliency methods against baselines, tested in one family per call.

Input: a tidy long table with the columns ``dataset, model, method, step, image_id, metric,
value`` (one row per image, method and metric; rows with a missing value are dropped and
counted). The linear mixed-effects model of :mod:`.mixed` is fitted once per call; contrasts
are Wald tests (z statistics) of linear combinations of its fixed effects, as R's
``multcomp::glht`` does for ``lmer`` fits. When the model cannot be used, every contrast of the
call is tested with :mod:`.fallback` instead; p-values are adjusted over the call's rows
(:mod:`.adjust`). :class:`~.options.TestOptions` holds alpha, the adjustment, the fallback and
the handling of duplicate rows.

Baselines come in three kinds:

* a **method label** present in the data (``"AVG"``, ``"UNET"``, ``"RETINANET"``): a paired
  comparison on the same images;
* a **constant** (the low SSIM baseline 0.5): the method's model-based mean minus the constant;
* a **sample** of independent values (the 50 random-pair SSIMs of the randomization baseline):
  the method's mean minus the sample mean, whose sampling variance (var / n) is added to the
  contrast's variance.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import InputError
from ..vocabulary import AVG, BASELINE_LABELS
from .adjust import adjust_family
from .data import method_order, metric_rows, one_value, unique_rows
from .fallback import one_sample, two_sample
from .mixed import MixedFit, fit_model
from .options import TestOptions

log = logging.getLogger(__name__)

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
    baselines: Sequence[str | float] = (AVG,),
    options: TestOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """One row per (target method, baseline): target minus baseline, CI, raw and adjusted p.

    ``df``: tidy metrics table of **one dataset**, one row per (method, image_id) for the rows
    used; ``metric`` selects the rows (e.g. ``"auprc"``). ``targets``: saliency methods
    (default: every method in the data that is not a baseline, in the registry's order).
    ``baselines``: method labels in the data (paired comparison on the same images, e.g.
    ``"AVG"``, ``"UNET"``) and/or numbers (a constant, e.g. ``0.5``). ``options`` (or keyword
    ``overrides`` of its fields: ``alpha=``, ``adjust=`` ...): :class:`TestOptions`.

    Columns (:data:`CONTRAST_COLUMNS`): ``estimate`` = target mean minus baseline mean (a
    constant for number baselines), ``ci_low``/``ci_high`` its unadjusted ``1 - alpha``
    confidence interval, ``p_value`` two-sided raw, ``p_adj`` adjusted over all rows of this
    call, ``n`` images used (paired images for method baselines), ``n_excluded`` images of the
    target or baseline without a partner, ``model`` the test used (``mixedlm`` or a fallback),
    ``note`` why a fallback was used.
    """
    opts = TestOptions.of(options, **overrides)
    what = f"metrics table (metric {metric!r})"
    sub, n_dropped = metric_rows(df, metric, what)
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
    return _run(sub, str(metric), targets, specs, method_baselines, opts, n_dropped, what)


def paired_contrasts(
    df: pd.DataFrame,
    metric: str,
    pairs: Sequence[tuple[str, str]],
    options: TestOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """One contrast per ``(target, baseline)`` pair of method labels in ``df`` (paired on the
    images both have), all in one family and one mixed model. Same columns as
    :func:`contrasts`."""
    opts = TestOptions.of(options, **overrides)
    what = f"metrics table (metric {metric!r})"
    sub, n_dropped = metric_rows(df, metric, what)
    if not pairs:
        raise InputError(f"{what}: no pairs to compare")
    present = set(sub["method"])
    missing = sorted({m for pair in pairs for m in pair} - present)
    if missing:
        raise InputError(f"{what}: no rows for method(s) {', '.join(missing)} in column 'method'")
    specs = [_Spec(str(a), str(b), "method") for a, b in pairs]
    targets = list(dict.fromkeys(s.target for s in specs))
    bases = list(dict.fromkeys(s.baseline for s in specs))
    return _run(sub, str(metric), targets, specs, bases, opts, n_dropped, what)


def sample_contrasts(
    df: pd.DataFrame,
    metric: str,
    samples: Mapping[str, Any] | Any,
    targets: Sequence[str] | None = None,
    options: TestOptions | None = None,
    *,
    label: str = "baseline",
    **overrides: Any,
) -> pd.DataFrame:
    """Contrasts of each target method against its own independent baseline sample/number.

    ``samples`` maps method -> a number (a constant) or an array of independent values (e.g.
    the 50 random-pair SSIMs of that method), or is one number/array for every method. Same
    columns as :func:`contrasts`; ``baseline`` is ``label``.
    """
    opts = TestOptions.of(options, **overrides)
    what = f"metrics table (metric {metric!r})"
    sub, n_dropped = metric_rows(df, metric, what)
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
    return _run(sub, str(metric), targets, specs, [], opts, n_dropped, what)


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


def _run(
    sub, metric, targets, specs, method_baselines, opts: TestOptions, n_dropped, what
) -> pd.DataFrame:
    dataset = one_value(sub, "dataset", what)
    levels = method_order([*targets, *method_baselines])
    data = unique_rows(sub, levels, what, opts.duplicates)
    reference = method_baselines[0] if method_baselines else levels[0]
    fit = fit_model(data, levels, reference, metric, n_dropped)
    if not fit.ok:
        log.info("%s: mixed model not used (%s); fallback %s", what, fit.reason, opts.fallback)
    wide = data.pivot(index="image_id", columns="method", values="value")
    rows, vecs, extra_var = [], [], []
    for spec in specs:
        row, vec, var = _one_contrast(spec, fit, wide, opts.alpha, opts.fallback)
        rows.append(row)
        vecs.append(vec)
        extra_var.append(var)
    out = pd.DataFrame(rows)
    out.insert(0, "metric", metric)
    out.insert(0, "dataset", dataset)
    out["alpha"] = float(opts.alpha)
    adjust_family(out, fit, specs, vecs, extra_var, opts.adjust, opts.seed, opts.n_draws)
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
        row.update(two_sample(t_vals.to_numpy(), spec.sample, alpha, fallback))
    else:
        row.update(one_sample(diffs, alpha, fallback, paired=spec.kind == "method"))
    row["note"] = f"{row['note']}; mixed model not used: {fit.reason}"
    return row, None, sample_var
