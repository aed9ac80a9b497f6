"""The paper's verdict per (method, criterion): pass / did not pass / uncertain.

Arun et al. (2021), Materials and Methods: "a 'pass' is denoted if the saliency method had a
higher performance than the respective baseline, while a 'did not pass' is denoted if the
saliency method had a lower performance than the respective baseline [...]. If 'uncertain' is
denoted, this indicates that there was no significant difference between the performance of the
saliency map and the corresponding baseline." Significance: "a two-sided test with alpha level
set at .05".

Rules implemented by :func:`decide` (``p_adj`` is the adjusted p-value, ``estimate`` the target
minus baseline difference):

* utility (AUPRC/AUROC vs AVG, vs U-Net/RetinaNet), repeatability and reproducibility (SSIM vs
  0.5, vs U-Net/RetinaNet): higher is better. ``p_adj < alpha`` and estimate > 0: **pass**;
  ``p_adj < alpha`` and estimate < 0: **did not pass**; otherwise **uncertain**.
* randomization (SSIM between the trained model's map and the fully randomized model's map, vs
  the randomization baseline): lower is better. The paper: "A saliency map reached degradation
  and was classified as a pass when the average SSIM was not significantly different or below
  the randomization baseline." So significantly below: **pass**; significantly above: **did not
  pass**; no significant difference: **pass** (the paper's rule; pass
  ``not_significant="uncertain"`` to report it as uncertain instead).
* a p-value that cannot be computed (no images): **not tested**.

The verdict logic is pure (:func:`decide`, :func:`apply_verdicts`); the ``*_verdicts``
functions select rows from a tidy metrics table, call :mod:`.mixed` and apply the rules.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..vocabulary import AGREEMENT_KINDS, AVG, BASELINE_LABELS, HIGH_BASELINES, LOW_SSIM
from .compare import CONTRAST_COLUMNS, contrasts, paired_contrasts, sample_contrasts
from .data import check_columns, method_order, metric_rows
from .options import TestOptions

log = logging.getLogger(__name__)

PASS = "pass"
FAIL = "did not pass"
UNCERTAIN = "uncertain"
NOT_TESTED = "not tested"
VERDICTS = (PASS, FAIL, UNCERTAIN, NOT_TESTED)
#: the words of a comparison that is not a trust criterion (e.g. repeatability against
#: reproducibility): first significantly higher, lower, or no significant difference
HIGHER, LOWER, NO_DIFFERENCE = "higher", "lower", "no significant difference"

#: criterion key -> human label, in the order of the paper's tables
CRITERIA = {
    "utility_low": "utility vs low baseline",
    "utility_high": "utility vs high baseline",
    "randomization": "randomization",
    "trained_vs_random": "utility of the trained vs the fully randomized model",
    "repeatability_low": "repeatability vs low baseline",
    "repeatability_high": "repeatability vs high baseline",
    "reproducibility_low": "reproducibility vs low baseline",
    "reproducibility_high": "reproducibility vs high baseline",
    "repeatability_vs_reproducibility": "repeatability vs reproducibility",
    "architectures": "utility of one architecture vs another",
    "data_randomization": "data randomization (labels permuted)",
    "faithfulness_deletion": "faithfulness: deletion vs random order",
    "faithfulness_insertion": "faithfulness: insertion vs random order",
    "faithfulness_road": "faithfulness: ROAD vs random order",
    "exposes_shortcut": "planted shortcut: marker share, shortcut vs clean model",
    "lesion_share_drop": "planted shortcut: lesion share, clean vs shortcut model",
    "utility_drop": "planted shortcut: utility, clean vs shortcut model",
}
#: criteria that compare two conditions of one method instead of testing trust: their
#: outcome reads higher / lower / no significant difference
COMPARISONS = ("repeatability_vs_reproducibility", "architectures")
VERDICT_COLUMNS = [
    "criterion",
    *CONTRAST_COLUMNS,
    "step",
    "condition",
    "higher_is_better",
    "verdict",
]


def decide(
    estimate: float,
    p_adj: float,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    not_significant: str = UNCERTAIN,
) -> str:
    """The verdict for one contrast (target minus baseline ``estimate``, adjusted p ``p_adj``).

    Significant (``p_adj < alpha``) and in the good direction: ``"pass"``; significant and in the
    bad direction: ``"did not pass"``; not significant: ``not_significant`` (``"uncertain"``;
    the randomization test uses ``"pass"``); NaN: ``"not tested"``.
    """
    if not_significant not in VERDICTS:
        raise InputError(f"not_significant must be one of {VERDICTS}, got {not_significant!r}")
    try:
        est, p = float(estimate), float(p_adj)
    except (TypeError, ValueError):
        return NOT_TESTED
    if math.isnan(est) or math.isnan(p):
        return NOT_TESTED
    if p >= alpha or est == 0:
        return not_significant
    better = est > 0 if higher_is_better else est < 0
    return PASS if better else FAIL


def apply_verdicts(
    table: pd.DataFrame,
    *,
    criterion: str,
    higher_is_better: bool = True,
    alpha: float | None = None,
    not_significant: str = UNCERTAIN,
    step: str = "",
) -> pd.DataFrame:
    """Add ``criterion``, ``step``, ``higher_is_better`` and ``verdict`` to a contrasts table.

    ``table`` needs the columns ``estimate`` and ``p_adj`` (and ``alpha`` unless given here).
    """
    check_columns(table, ["estimate", "p_adj"], "contrasts table")
    out = table.copy()
    if alpha is None:
        if "alpha" not in out.columns:
            raise InputError("contrasts table: missing column 'alpha' (or pass alpha=)")
        alphas = out["alpha"].astype(float).to_numpy()
    else:
        alphas = np.full(len(out), float(alpha))
        out["alpha"] = float(alpha)
    out["verdict"] = [
        decide(e, p, alpha=a, higher_is_better=higher_is_better, not_significant=not_significant)
        for e, p, a in zip(out["estimate"], out["p_adj"], alphas, strict=True)
    ]
    out.insert(0, "criterion", criterion)
    out["step"] = step
    out["condition"] = ""
    out["higher_is_better"] = bool(higher_is_better)
    return out[[c for c in VERDICT_COLUMNS if c in out.columns]]


# --------------------------------------------------------------------------- row selection


def _datasets(df: pd.DataFrame, dataset: str | None, what: str) -> list[str]:
    present = list(dict.fromkeys(df["dataset"].astype(str).str.strip()))
    if dataset is None:
        return present
    if str(dataset) not in present:
        raise InputError(
            f"{what}: no rows with dataset == {dataset!r} (column 'dataset' has "
            f"{', '.join(present)})"
        )
    return [str(dataset)]


def select_rows(
    sub: pd.DataFrame,
    keep_labels: Sequence[str] = BASELINE_LABELS,
    model: str | None = None,
    step: str | None = None,
    what: str = "metrics table",
) -> pd.DataFrame:
    """Rows of ``sub`` whose ``model``/``step`` match (when given), applied to saliency-method
    rows only: rows whose ``method`` is in ``keep_labels`` (the baselines) are kept as they are.
    :class:`InputError` when no method row matches (the message lists what the column has)."""
    is_base = sub["method"].isin(list(keep_labels))
    mask = pd.Series(True, index=sub.index)
    for col, val in (("model", model), ("step", step)):
        if val is None:
            continue
        hit = sub[col] == str(val)
        if not (hit & ~is_base).any():
            have = ", ".join(dict.fromkeys(sub.loc[~is_base, col]))
            raise InputError(f"{what}: no rows with {col} == {val!r} (column {col!r} has {have})")
        mask &= hit | is_base
    return sub[mask]


def pick_high_baseline(methods, high: str | None = None, what: str = "metrics") -> str | None:
    """``high`` when given, else the one of UNET/RETINANET among ``methods`` (None, with a
    warning, when neither; :class:`InputError` when both)."""
    if high is not None:
        return str(high)
    found = [m for m in HIGH_BASELINES if m in set(methods)]
    if len(found) > 1:
        raise InputError(
            f"{what}: several high baselines in column 'method' ({', '.join(found)}); "
            "pass high= to choose one"
        )
    if not found:
        log.warning("%s: no high baseline (%s) in the data", what, " or ".join(HIGH_BASELINES))
        return None
    return found[0]


def _concat(frames: list[pd.DataFrame], n_nan: int = 0) -> pd.DataFrame:
    """Stack verdict tables; ``attrs["n_dropped"]`` = rows dropped for a NaN value."""
    frames = [f for f in frames if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VERDICT_COLUMNS)
    out.attrs["n_dropped"] = int(n_nan)
    return out


def _split_by_baseline(table, labels: dict[str, str], **kwargs) -> list[pd.DataFrame]:
    return [
        apply_verdicts(table[table["baseline"] == base], criterion=crit, **kwargs)
        for base, crit in labels.items()
    ]


# --------------------------------------------------------------------------- utility


def utility_verdicts(
    df: pd.DataFrame,
    metric: str = "auprc",
    *,
    low: str | None = AVG,
    high: str | None = None,
    targets: Sequence[str] | None = None,
    dataset: str | None = None,
    model: str | None = None,
    step: str | None = None,
    options: TestOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Utility verdicts per dataset: each method vs the low (AVG) and high baseline.

    ``df``: tidy utility metrics (columns ``dataset, model, method, step, image_id, metric,
    value``) with the saliency methods' rows and baseline rows whose ``method`` is ``low``
    (``"AVG"``) and ``high`` (default: whichever of ``UNET``/``RETINANET`` is present in that
    dataset; skipped with a warning when neither is). ``model``/``step`` select the classifier
    rows (e.g. ``model="inceptionv3_r1"``, ``step="trained"``); baseline rows are kept whatever
    their model/step. Higher is better. One adjustment family per dataset (both baselines).

    Returns one row per (dataset, method, baseline): the :func:`.mixed.contrasts` columns plus
    ``criterion`` (``utility_low``/``utility_high``), ``step``, ``higher_is_better``, ``verdict``.
    """
    opts = TestOptions.of(options, **overrides)
    what = "utility metrics"
    data, n_nan = metric_rows(df, metric, what)  # validated, NaN values dropped
    frames = []
    for ds in _datasets(data, dataset, what):
        sub = data[data["dataset"] == ds]
        wds = f"{what} (dataset {ds!r}, metric {metric!r})"
        hi = pick_high_baseline(set(sub["method"]), high, wds)
        bases = [b for b in (low, hi) if b is not None]
        if not bases:
            raise InputError(f"{wds}: no baseline to compare with (low=None, no high baseline)")
        keep = list(dict.fromkeys([*bases, *BASELINE_LABELS]))
        sub = select_rows(sub, keep, model, step, wds)
        if targets is None:
            tg = [m for m in _present(sub) if m not in keep]
        else:
            tg = list(targets)
        table = contrasts(sub, metric, tg, bases, opts)
        labels = {}
        if low is not None:
            labels[str(low)] = "utility_low"
        if hi is not None:
            labels[str(hi)] = "utility_high"
        frames += _split_by_baseline(table, labels, step=step or "")
    return _concat(frames, n_nan)


def _present(sub: pd.DataFrame) -> list[str]:
    return method_order(sub["method"])


# --------------------------------------------------------------------------- randomization


def step_order(df: pd.DataFrame) -> list[str]:
    """Steps in the order they first appear in ``df`` (the cascade order as written)."""
    check_columns(df, ["step"], "randomization metrics")
    return list(dict.fromkeys(df["step"].astype(str).str.strip()))


def randomization_baseline(
    baseline: Any,
    methods: Sequence[str],
    *,
    dataset: str | None = None,
    metric: str = "ssim",
) -> dict[str, float | np.ndarray]:
    """Per-method randomization baseline: method -> a number or an array of random-pair SSIMs.

    ``baseline`` is a number (one constant for every method), a mapping method -> number or
    array, a Series/array of SSIMs (pooled), or a DataFrame with an ``ssim`` (or ``value``)
    column and optionally ``method`` (per-method samples), ``dataset`` (rows of ``dataset``
    are used) and ``metric`` (rows of ``metric`` are used) columns.
    """
    what = "randomization baseline"
    if isinstance(baseline, bool) or baseline is None:
        raise InputError(f"{what}: expected a number, mapping or DataFrame, got {baseline!r}")
    if isinstance(baseline, int | float | np.number):
        if not math.isfinite(float(baseline)):
            raise InputError(f"{what}: {baseline!r} is not a finite number")
        return {m: float(baseline) for m in methods}
    if isinstance(baseline, Mapping):
        out = {}
        for m in methods:
            if m not in baseline:
                raise InputError(
                    f"{what}: no value for method {m!r} (has {', '.join(map(str, baseline))})"
                )
            v = baseline[m]
            out[m] = float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float).ravel()
        return out
    if isinstance(baseline, pd.DataFrame):
        col = "ssim" if "ssim" in baseline.columns else "value"
        if col not in baseline.columns:
            raise InputError(
                f"{what}: missing column 'ssim' (or 'value'); has "
                f"{', '.join(map(str, baseline.columns))}"
            )
        b = baseline
        if "metric" in b.columns and col == "value":
            b = b[b["metric"].astype(str).str.strip() == metric]
        if dataset is not None and "dataset" in b.columns:
            b = b[b["dataset"].astype(str).str.strip() == str(dataset)]
        vals = pd.to_numeric(b[col], errors="coerce")
        if vals.isna().all():
            raise InputError(f"{what}: column {col!r} has no numeric value (dataset {dataset!r})")
        b = b.assign(**{col: vals}).dropna(subset=[col])
        if "method" in b.columns:
            groups = {str(k).strip(): g[col].to_numpy(float) for k, g in b.groupby("method")}
            missing = [m for m in methods if m not in groups]
            if missing:
                raise InputError(
                    f"{what}: no rows for method(s) {', '.join(missing)} in column 'method'"
                    + (f" (dataset {dataset!r})" if dataset is not None else "")
                )
            return {m: groups[m] for m in methods}
        return {m: b[col].to_numpy(float) for m in methods}
    arr = np.asarray(baseline, dtype=float).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise InputError(f"{what}: no finite value")
    return {m: arr for m in methods}


def randomization_verdicts(
    df: pd.DataFrame,
    baseline: Any,
    *,
    metric: str = "ssim",
    step: str | None = None,
    targets: Sequence[str] | None = None,
    dataset: str | None = None,
    model: str | None = None,
    baseline_as: str = "sample",
    not_significant: str = PASS,
    options: TestOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Randomization verdicts per dataset: SSIM at the fully randomized step vs the baseline.

    ``df``: tidy randomization metrics, one row per (method, step, image_id) with
    ``metric == "ssim"`` = SSIM(trained map, map at that cascading step). ``step`` defaults to
    the **last** step in the order of first appearance (the cascade is written top-down, so the
    last step is the fully randomized model). ``baseline``: see :func:`randomization_baseline`
    (the random-pair SSIMs per method, or a number). ``baseline_as="sample"`` tests against the
    baseline's mean *and* its sampling variance (Welch-like); ``"constant"`` against its mean as
    a fixed number. Lower is better; not significantly different counts as ``pass`` (the
    paper's rule; ``not_significant="uncertain"`` to change it).
    """
    opts = TestOptions.of(options, **overrides)
    what = "randomization metrics"
    if baseline_as not in ("sample", "constant"):
        raise InputError(f"baseline_as must be 'sample' or 'constant', got {baseline_as!r}")
    data, n_nan = metric_rows(df, metric, what)
    frames = []
    for ds in _datasets(data, dataset, what):
        sub = data[data["dataset"] == ds]
        wds = f"{what} (dataset {ds!r})"
        sub = select_rows(sub, [], model, None, wds)
        order = step_order(sub)
        final = str(step) if step is not None else order[-1]
        if final not in order:
            raise InputError(f"{wds}: no rows with step == {final!r} (steps: {', '.join(order)})")
        sub = sub[sub["step"] == final]
        tg = [m for m in _present(sub) if m not in BASELINE_LABELS] if targets is None else targets
        base = randomization_baseline(baseline, list(tg), dataset=ds, metric=metric)
        if baseline_as == "constant":
            base = {m: float(np.mean(v)) for m, v in base.items()}
        table = sample_contrasts(
            sub,
            metric,
            base,
            tg,
            opts,
            label="randomization baseline",
        )
        frames.append(
            apply_verdicts(
                table,
                criterion="randomization",
                higher_is_better=False,
                not_significant=not_significant,
                step=final,
            )
        )
    return _concat(frames, n_nan)


# --------------------------------------------------------------------------- paired conditions


def paired_verdicts(
    first: pd.DataFrame,
    second: pd.DataFrame,
    *,
    metric: str,
    criterion: str,
    condition: str,
    baseline: str,
    options: TestOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Each method under condition ``first`` against itself under ``second`` (e.g. the
    trained model's maps against the fully randomized model's), paired on the images both
    have, one family, one mixed model. Higher is better for ``first``; the ``condition`` and
    ``baseline`` columns name the two conditions. A criterion in :data:`COMPARISONS` reads
    higher / lower / no significant difference instead of pass / did not pass / uncertain.
    """
    what = f"{CRITERIA.get(criterion, criterion)} ({metric})"
    a, _ = metric_rows(first, metric, what)
    b, _ = metric_rows(second, metric, what)
    methods = [m for m in method_order(a["method"]) if m in set(b["method"])]
    if not methods:
        raise InputError(f"{what}: no method has rows under both conditions")
    tag = "\x1f" + baseline
    keep = set(zip(a["method"], a["image_id"], strict=True)) & set(
        zip(b["method"], b["image_id"], strict=True)
    )

    def common(rows, suffix=""):
        hit = [(m, i) in keep for m, i in zip(rows["method"], rows["image_id"], strict=True)]
        return rows[hit].assign(method=rows.loc[hit, "method"] + suffix)

    both = pd.concat([common(a), common(b, tag)], ignore_index=True)
    both = both.assign(model=criterion, step="")
    table = paired_contrasts(both, metric, [(m, m + tag) for m in methods], options, **overrides)
    table = table.assign(baseline=baseline, baseline_kind="paired condition")
    out = apply_verdicts(table, criterion=criterion)
    out["condition"] = condition
    if criterion in COMPARISONS:
        words = {PASS: HIGHER, FAIL: LOWER, UNCERTAIN: NO_DIFFERENCE}
        out["verdict"] = out["verdict"].map(lambda v: words.get(v, v))
    return out


# --------------------------------------------------------------------------- agreement


def agreement_verdicts(
    df: pd.DataFrame,
    *,
    kinds: Sequence[str] = AGREEMENT_KINDS,
    low: float | None = LOW_SSIM,
    high: str | None = None,
    metric: str = "ssim",
    targets: Sequence[str] | None = None,
    dataset: str | None = None,
    options: TestOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Repeatability / reproducibility verdicts per dataset and kind, vs 0.5 and U-Net/RetinaNet.

    ``df``: tidy SSIM rows (``metric == "ssim"``) whose ``model`` column names the kind
    (``"repeatability"``: InceptionV3 r1 vs r2; ``"reproducibility"``: InceptionV3 vs
    DenseNet-121). The high baseline rows (``method`` ``UNET``/``RETINANET``: SSIM of two
    separately trained localizers) are taken from the same kind when present there, else from
    any rows of that method in the dataset. Higher is better. One adjustment family per
    (dataset, kind).
    """
    opts = TestOptions.of(options, **overrides)
    what = "agreement metrics"
    data, n_nan = metric_rows(df, metric, what)
    frames = []
    for ds in _datasets(data, dataset, what):
        dsub = data[data["dataset"] == ds]
        for kind in kinds:
            wds = f"{what} (dataset {ds!r}, model {kind!r})"
            sub = dsub[dsub["model"] == str(kind)]
            if sub.empty:
                have = ", ".join(dict.fromkeys(dsub["model"]))
                raise InputError(
                    f"{wds}: no rows with model == {kind!r} (column 'model' has {have})"
                )
            hi = pick_high_baseline(set(dsub["method"]), high, wds)
            if hi is not None and hi not in set(sub["method"]):
                extra = dsub[dsub["method"] == hi]
                if extra.empty:
                    raise InputError(f"{wds}: no rows for high baseline method {hi!r}")
                models = sorted(set(extra["model"]))
                log.info("%s: high baseline %s taken from model(s) %s", wds, hi, models)
                sub = pd.concat([sub, extra], ignore_index=True)
            bases: list[Any] = [b for b in (hi, low) if b is not None]
            if not bases:
                raise InputError(f"{wds}: no baseline to compare with")
            if targets is None:
                tg = [m for m in _present(sub) if m not in BASELINE_LABELS and m != hi]
            else:
                tg = list(targets)
            table = contrasts(sub, metric, tg, bases, opts)
            labels = {}
            if low is not None:
                labels[f"{float(low):g}"] = f"{kind}_low"
            if hi is not None:
                labels[hi] = f"{kind}_high"
            frames += _split_by_baseline(table, labels)
    return _concat(frames, n_nan)
