"""XRAI with the ``saliency`` package's defaults (IG from black and white baselines inside)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
from saliency.core import XRAI as CoreXRAI
from saliency.core import IntegratedGradients as CoreIG
from saliency.core import XRAIParameters
from saliency.core import xrai as _core_xrai

from saliency_audit.saliency.base import SaliencyMethod

_DEFAULTS = XRAIParameters()


class SegmentCache:
    """XRAI's Felzenszwalb segments of an image, kept across models, randomization steps and
    calls (they depend on the image only, and cost ~0.5 s per image, nearly all of XRAI's CPU
    time after the gradients). Least recently used entries go beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[bytes, tuple[list, int]] = OrderedDict()  # segments, bytes
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, x: np.ndarray) -> list | None:
        """The segments of image ``x`` (``None`` when the package has no segmenter to call)."""
        segment = getattr(_core_xrai, "_get_segments_felzenszwalb", None)
        if segment is None:
            return None
        x = np.ascontiguousarray(x)
        key = hashlib.blake2b(x.tobytes(), digest_size=16, person=str(x.shape).encode()[:16])
        key = key.digest()
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key][0]
        self.misses += 1
        segs = segment(x)
        for m in segs:  # shared between calls: nobody may change them
            m.flags.writeable = False
        size = sum(m.nbytes for m in segs)
        if size <= self.max_bytes:
            self._items[key] = (segs, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, old_size) = self._items.popitem(last=False)
                self._bytes -= old_size
        return segs


SEGMENTS = SegmentCache()


class XRAI(SaliencyMethod):
    """XRAI region attribution; raw ``(B, S, S, 1)`` (each pixel: its region's gain density).

    ``XRAI.GetMask`` runs IG from two baselines (the image's min and max value, ``steps``
    steps each) and averages them before segmenting. Here that IG runs batched (images x
    baselines x steps through one compiled call) with the same ``IntegratedGradients.GetMask``
    arithmetic, and is passed to ``XRAI.GetMask`` as ``base_attribution``; segmentation and
    region ranking are the package's, per image.
    """

    name = "XRAI"
    defaults = {
        "steps": _DEFAULTS.steps,
        "algorithm": _DEFAULTS.algorithm,
        "area_threshold": float(_DEFAULTS.area_threshold),
    }
    choices = {"algorithm": ("full", "fast")}
    kinds = ("input",)
    n_baselines = 2

    def factors(self) -> tuple[int, ...]:
        return (self.n_baselines, self._params["steps"])

    def _parameters(self) -> XRAIParameters:
        p = XRAIParameters(steps=self._params["steps"], algorithm=self._params["algorithm"])
        p.area_threshold = self._params["area_threshold"]
        return p

    @staticmethod
    def baselines(x: np.ndarray) -> np.ndarray:
        """XRAI's default baselines for one image: constant min and max of ``x``, ``(2, *x)``."""
        return np.stack([np.min(x) * np.ones_like(x), np.max(x) * np.ones_like(x)])

    def compute(self, batch_inputs: np.ndarray, seeds=None) -> np.ndarray:
        ctx, plan = self._require_bound()
        x = np.asarray(batch_inputs, np.float32)
        nb, s = plan.groups
        fn = ctx.function("input", plan.batch)
        sign = self.signs(x)
        b = x.shape[0]
        base = np.stack([self.baselines(xi) for xi in x])  # (B, 2, S, S, 3)
        attrs = np.empty(base.shape, np.float32)
        core_ig = CoreIG()
        for g in range(self.n_baselines // nb):
            sl = slice(g * nb, (g + 1) * nb)
            xs = np.broadcast_to(x[:, None], (b, nb, *x.shape[1:])).copy()
            attrs[:, sl] = core_ig.GetMask(
                xs,
                fn.call_model_function,
                {"sign": sign[:, None]},
                x_baseline=base[:, sl].copy(),
                x_steps=self._params["steps"],
                batch_size=s,
            )
        out = np.empty((*x.shape[:3], 1), np.float32)
        core = CoreXRAI()
        params = self._parameters()
        for i in range(b):
            attr = np.mean(list(attrs[i]), axis=0)  # as XRAI: mean over the baselines' IG
            out[i, ..., 0] = core.GetMask(
                x[i],
                fn.call_model_function,
                segments=SEGMENTS.get(x[i]),
                base_attribution=attr,
                extra_parameters=params,
            )
        return out

    def reference(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        ctx, _ = self._require_bound()
        fn = ctx.function("input", None)
        mask = CoreXRAI().GetMask(
            x,
            fn.call_model_function,
            {"sign": self._plain_sign(x)},
            batch_size=1,
            extra_parameters=self._parameters(),
        )
        return np.asarray(mask, np.float32)[..., None]
