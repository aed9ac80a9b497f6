"""Classifier evaluation: AUROC with a percentile-bootstrap CI and per-image prediction tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError


def auroc_with_ci(
    labels: np.ndarray,
    scores: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """AUROC of ``scores`` against 0/1 ``labels`` with a percentile-bootstrap ``1 - alpha`` CI.

    Images are resampled with replacement ``n_boot`` times (``numpy.random.default_rng(seed)``);
    resamples that lack a class are skipped.  Returns ``{"auroc", "ci_low", "ci_high",
    "n_boot", "n"}`` where ``n_boot`` counts the resamples used (CI bounds are NaN if none).
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InputError(f"labels ({y.shape}) and scores ({s.shape}) differ in length")
    if not np.isin(y, (0, 1)).all():
        raise InputError("labels must be 0 or 1")
    if len(np.unique(y)) < 2:
        raise InputError(
            f"AUROC needs positive and negative images; got {len(y)} images of one class"
        )
    if not np.isfinite(s).all():
        raise InputError("scores contain NaN or infinite values")
    auroc = float(roc_auc_score(y, s))
    rng = np.random.default_rng(seed)
    n = len(y)
    boots = []
    for _ in range(int(n_boot)):
        i = rng.integers(0, n, size=n)
        yb = y[i]
        if yb.min() == yb.max():
            continue
        boots.append(roc_auc_score(yb, s[i]))
    if boots:
        lo, hi = np.percentile(boots, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    else:
        lo = hi = np.nan
    return {"auroc": auroc, "ci_low": float(lo), "ci_high": float(hi), "n_boot": len(boots), "n": n}


def evaluation_table(image_ids, labels, logits) -> pd.DataFrame:
    """Tidy per-image predictions: ``image_id, label, logit, probability`` (sigmoid of logit)."""
    ids = np.asarray(image_ids)
    y = np.asarray(labels).ravel()
    z = np.asarray(logits, dtype=np.float64).ravel()
    if not (len(ids) == len(y) == len(z)):
        raise InputError(
            f"image_ids ({len(ids)}), labels ({len(y)}) and logits ({len(z)}) differ in length"
        )
    prob = np.where(
        z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z)))
    )
    return pd.DataFrame({"image_id": ids, "label": y.astype(int), "logit": z, "probability": prob})


def evaluate_classifier(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    idx: np.ndarray,
    image_ids,
    *,
    batch_size: int = 32,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """Predict rows ``idx`` and return ``(evaluation_table, auroc_with_ci summary)``.

    ``labels`` and ``image_ids`` are indexed by the same rows as ``images``.
    """
    from .classifier import predict_logits

    idx = np.asarray(idx, dtype=np.int64)
    logits = predict_logits(model, images, idx, batch_size)
    y = np.asarray(labels)[idx]
    table = evaluation_table(np.asarray(image_ids)[idx], y, logits)
    return table, auroc_with_ci(y, logits, n_boot=n_boot, seed=seed)
