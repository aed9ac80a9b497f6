"""What the per-image metrics of one comparison share: parameters and cached intermediates.

A :class:`MetricContext` is made for one pair of stacks (maps vs masks, or maps vs maps) and
handed to every registered metric function (:data:`saliency_audit.vocabulary.METRICS`), so
that metrics computed from one intermediate (the three utility metrics from one pass of
per-value counts, IoU from the Otsu segmentation the job also writes as COCO RLE) compute it
once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saliency_audit.vocabulary import METRICS, metric, metric_names


@dataclass(frozen=True)
class MetricParams:
    """Metric parameters from the config (``metrics:``) and the job's seed."""

    seed: int = 0
    topk_fraction: float = 0.05
    ssim_window: int = 7
    ssim_data_range: float = 1.0
    ranking_map: str = "raw"


@dataclass
class MetricContext:
    """:class:`MetricParams` plus a cache of intermediates of ONE pair of stacks."""

    params: MetricParams = field(default_factory=MetricParams)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked for, the cached value afterwards."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


def score(
    names: Iterable[str], x, y, params: MetricParams | MetricContext
) -> dict[str, np.ndarray]:
    """``{name: (n,) float64}`` of the registered metrics ``names`` of stacks ``x``, ``y``
    (maps and masks, or two map stacks), in the order given. Pass a :class:`MetricContext` to
    read its cache afterwards (e.g. ``ctx.cache["otsu"]``)."""
    ctx = params if isinstance(params, MetricContext) else MetricContext(params)
    return {name: np.asarray(metric(name).function(x, y, ctx), dtype=np.float64) for name in names}


def score_maps(display, raw, masks, params: MetricParams) -> tuple[dict, MetricContext]:
    """Every registered mask metric of a map stack against ``masks``, in registry order:
    threshold-free ranking metrics on ``|raw|`` (the raw attributions, when given and
    ``params.ranking_map`` is ``raw``), the others on the ``display`` maps. Returns the values
    and the display maps' context (its cache holds the Otsu segmentation)."""
    names = metric_names(compares="mask")
    ranking = [n for n in names if METRICS[n].ranking]
    on_raw = raw is not None and params.ranking_map == "raw"
    ctx = MetricContext(params)
    values = score([n for n in names if n not in ranking or not on_raw], display, masks, ctx)
    if on_raw:
        values.update(score(ranking, np.abs(np.asarray(raw, np.float32)), masks, params))
    return {n: values[n] for n in names}, ctx
