"""The words of the tidy metric tables: the metric registry and the row roles.

Every metric table has the columns ``dataset, model, method, step, image_id, metric, value``
(:data:`saliency_audit.metrics.tidy.COLUMNS`). What the values of those columns mean is
defined here once, and metric jobs, statistics, figures, summary and config schema use it:

* :data:`METRICS` -- every per-image metric: its family, direction, axis label and unit, and the
  function that computes it (``"module:function"``, imported when first used so that reading
  this module costs nothing);
* row roles -- the ``step`` of a trained model's maps (:data:`TRAINED`), of the randomization
  baseline (:data:`RANDOM_PAIRS`) and of randomization steps (:func:`step_name`); the
  ``model`` of agreement rows (:data:`REPEATABILITY`, :data:`REPRODUCIBILITY`); the ``method``
  of baseline rows (:data:`AVG`, :data:`UNET`, :data:`RETINANET`).

Adding a metric: write ``fn(maps, masks, ctx)`` (a mask metric) or ``fn(a, b, ctx)`` (a
similarity metric) returning one float per image in its family's module, add one
:class:`Metric` line below, and a known-answer test (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

# ------------------------------------------------------------------------------- row roles
#: ``step`` of the maps of a trained model (and of every baseline row)
TRAINED = "trained"
#: ``step`` of the randomization baseline: SSIM of random pairs of maps of different images
RANDOM_PAIRS = "random_pairs"
#: ``model`` of agreement rows: two replicates of one architecture / two architectures
REPEATABILITY = "repeatability"
REPRODUCIBILITY = "reproducibility"
AGREEMENT_KINDS = (REPEATABILITY, REPRODUCIBILITY)
#: ``method`` (and ``model``) of the low utility baseline: the mean training mask
AVG = "AVG"
#: ``method`` of the high baselines, by dataset task: a network trained to localise
UNET = "UNET"
RETINANET = "RETINANET"
HIGH_BASELINES = (UNET, RETINANET)
BASELINE_LABELS = (AVG, *HIGH_BASELINES)
#: the localiser trained as high baseline for each dataset task: (model kind, method label)
LOCALISERS = {"segmentation": ("unet", UNET), "detection": ("retinanet", RETINANET)}
#: the low repeatability / reproducibility baseline: SSIM half-way between unrelated and equal
LOW_SSIM = 0.5
#: ``method`` of the faithfulness baseline rows: the curves of a random pixel order
RANDOM_ORDER = "RANDOM"
#: ``step`` of the maps of the data randomization test's classifier (permuted labels)
PERMUTED_LABELS = "permuted_labels"
#: faithfulness curve -> (metric name of its area, whether a high area is faithful)
FAITHFULNESS = {
    "deletion": ("deletion_auc", False),
    "insertion": ("insertion_auc", True),
    "road": ("road_auc", False),
}
#: the two classifiers of the planted-shortcut benchmark: trained with the marker, and a
#: clean twin trained on the same images without it
SHORTCUT_VARIANTS = ("shortcut", "clean")
#: randomization step kinds: ``cascade_B`` re-draws every block from the logits down to B,
#: ``independent_B`` only B
CASCADE = "cascade"
INDEPENDENT = "independent"
STEP_KINDS = (CASCADE, INDEPENDENT)


def high_baseline(task: str) -> tuple[str, str]:
    """``(kind, label)`` of the localisation baseline of a dataset ``task``, e.g.
    ``("unet", "UNET")`` for segmentation."""
    return LOCALISERS[task]


def step_name(kind: str, block: str) -> str:
    """The ``step`` of randomization step ``kind`` at ``block``, e.g. ``cascade_mixed7``."""
    if kind not in STEP_KINDS:
        raise ValueError(f"unknown randomization step kind {kind!r}; one of {STEP_KINDS}")
    return f"{kind}_{block}"


def is_cascade(step: str) -> bool:
    """Whether ``step`` is a cascading randomization step."""
    return str(step).startswith(CASCADE + "_")


# --------------------------------------------------------------------------------- metrics
#: families: what a metric compares (``mask``: a map against the ground truth, per image;
#: ``map``: two maps of one image)
FAMILIES = {
    "utility": "mask",
    "localization": "mask",
    "attribution": "mask",
    "similarity": "map",
}


@dataclass(frozen=True)
class Metric:
    """One per-image metric of the tidy tables.

    ``compute``: ``"module:function"``; the function takes ``(maps, masks, ctx)`` (mask
    families) or ``(a, b, ctx)`` (similarity), stacks ``(n, H, W)``, and a
    :class:`saliency_audit.metrics.context.MetricContext`, and returns ``(n,)`` float64 (NaN
    where undefined). ``summarised``: listed with a bootstrap CI in ``localization.csv``.
    ``ranking``: a threshold-free mask metric that only ranks the pixels (it reads the raw
    attributions when ``metrics.ranking_map`` is ``raw``); the others binarise the display map.
    """

    name: str
    family: str
    higher_is_better: bool
    label: str
    unit: str
    compute: str
    summarised: bool = True
    ranking: bool = True

    @property
    def compares(self) -> str:
        return FAMILIES[self.family]

    @property
    def axis_label(self) -> str:
        """Axis label with the unit, e.g. ``pixel AUPRC (unitless, 0 to 1)``."""
        return f"{self.label} ({self.unit})"

    @property
    def function(self) -> Callable:
        module, name = self.compute.split(":")
        return getattr(importlib.import_module(module), name)


_U, _L, _A, _S = (f"saliency_audit.metrics.{m}" for m in FAMILIES)
_UNIT01 = "unitless, 0 to 1"

#: name -> metric, in the order the metric jobs write them
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("auprc", "utility", True, "pixel AUPRC", _UNIT01, f"{_U}:average_precision"),
        Metric(
            "auprc_trapz",
            "utility",
            True,
            "pixel AUPRC, trapezoidal (the paper's code)",
            _UNIT01,
            f"{_U}:auprc_trapezoid",
        ),
        Metric("auroc", "utility", True, "pixel AUROC", _UNIT01, f"{_U}:pixel_auroc"),
        Metric(
            "iou_otsu",
            "localization",
            True,
            "IoU, Otsu threshold",
            _UNIT01,
            f"{_L}:iou_otsu",
            ranking=False,
        ),
        Metric(
            "iou_tuned",
            "localization",
            True,
            "IoU, threshold tuned on other images",
            _UNIT01,
            f"{_L}:iou_tuned",
            ranking=False,
        ),
        Metric("hit", "localization", True, "pointing-game hit", "0 or 1", f"{_L}:pointing_hit"),
        Metric(
            "mass",
            "attribution",
            True,
            "relevance mass accuracy",
            _UNIT01,
            f"{_A}:relevance_mass_accuracy",
        ),
        Metric(
            "rank",
            "attribution",
            True,
            "relevance rank accuracy",
            _UNIT01,
            f"{_A}:relevance_rank_accuracy",
        ),
        Metric("topk", "attribution", True, "top-k intersection", _UNIT01, f"{_A}:topk_metric"),
        Metric(
            "ssim",
            "similarity",
            True,
            "SSIM",
            "unitless, -1 to 1; 1 = identical",
            f"{_S}:ssim_metric",
            ranking=False,
        ),
        Metric(
            "spearman",
            "similarity",
            True,
            "Spearman rank correlation",
            "unitless, -1 to 1",
            f"{_S}:spearman_metric",
            ranking=False,
        ),
    )
}


def metric(name: str) -> Metric:
    """The registered metric ``name``; ``KeyError`` naming the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


def metric_names(*families: str, compares: str | None = None) -> list[str]:
    """Names of the metrics of ``families`` (all when none) comparing ``compares``."""
    return [
        m.name
        for m in METRICS.values()
        if (not families or m.family in families) and (compares is None or m.compares == compares)
    ]


def axis_label(name: str) -> str:
    """Axis label of metric ``name``; an unregistered name is labelled as unitless."""
    return METRICS[name].axis_label if name in METRICS else f"{name} (unitless)"
