"""The one interface every saliency method implements, and how work is batched.

A method is configured by keyword parameters (validated against its ``defaults``), bound to a
:class:`~saliency_audit.saliency.model_functions.ModelContext` and a :class:`Plan`, and then maps
a batch of model inputs ``float32 (B, S, S, 3)`` in [-1, 1] plus one seed per image to raw
attributions ``float32 (B, S, S, C)``. Post-processing to display maps is separate
(:mod:`saliency_audit.saliency.postprocess`).

Batching: per image a method evaluates ``prod(factors)`` model gradients (noise samples,
integration steps, baselines). A plan splits each factor into equal groups (a divisor) and packs
``images x groups`` into one compiled call of exactly ``batch`` inputs, so no call is padded
except the last image chunk's. Every image's result is independent of the batch it was in.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import math
from typing import Any, ClassVar

import numpy as np

from saliency_audit.errors import InputError
from saliency_audit.saliency.postprocess import RECIPE, postprocess_batch


def image_seed(seed: int, index: int) -> int:
    """Per-image seed in ``[0, 2**32)`` from the job seed and the image's index in its stack."""
    if int(seed) < 0 or int(index) < 0:
        raise InputError(f"seed and image index must be >= 0, got seed={seed}, index={index}")
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


@dataclasses.dataclass(frozen=True)
class Plan:
    """``images`` per chunk, ``groups[i]`` divides ``factors[i]``; ``batch`` inputs per call."""

    images: int
    groups: tuple[int, ...]
    batch: int


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def plan_batches(factors: tuple[int, ...], batch_size: int, n_images: int | None = None) -> Plan:
    """Choose image chunk and factor groups so each compiled call holds ``<= batch_size`` inputs.

    Score = (fraction of the requested batch used) x (fraction of image slots that are real
    images, given ``n_images``); ties go to fewer images resident at once.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    best, best_key = None, None
    n = n_images if n_images and n_images > 0 else None
    for groups in itertools.product(*[_divisors(f) for f in factors]):
        unit = math.prod(groups)
        if unit > batch_size:
            continue
        max_images = batch_size // unit
        for images in range(1, max_images + 1):
            fill = images * unit / batch_size
            real = n / (math.ceil(n / images) * images) if n else 1.0
            key = (round(fill * real, 9), round(real, 9), unit)
            if best_key is None or key > best_key:
                best, best_key = Plan(images, tuple(groups), images * unit), key
    assert best is not None
    return best


class SaliencyMethod(abc.ABC):
    """Base class: ``name``, ``params`` and ``compute(batch_inputs, seeds) -> raw``.

    Subclasses set ``name``, ``defaults`` (every accepted parameter with its default value),
    optionally override :meth:`factors`, and implement :meth:`compute` and :meth:`reference`.
    """

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    #: allowed values of choice-type parameters (validated with every other parameter)
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: model functions the method uses (``ModelContext`` kinds), for compilation ahead of time;
    #: ``"gradcam"`` needs the context's Grad-CAM layer
    kinds: ClassVar[tuple[str, ...]] = ("input",)
    #: whether ``compute`` uses the seeds (random noise)
    stochastic: ClassVar[bool] = False

    def __init__(self, **params: Any):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            valid = ", ".join(sorted(self.defaults)) or "none"
            raise InputError(
                f"unknown parameter(s) {', '.join(unknown)} for saliency method {self.name}; "
                f"valid: {valid}"
            )
        merged = {**self.defaults, **params}
        self._params = {k: self._validate(k, v) for k, v in merged.items()}
        self.ctx = None
        self.plan: Plan | None = None

    def _validate(self, key: str, value: Any) -> Any:
        default = self.defaults[key]
        where = f"saliency method {self.name}, parameter {key}"
        if isinstance(default, bool):
            if not isinstance(value, bool | np.bool_):
                raise InputError(f"{where}: expected true/false, got {value!r}")
            return bool(value)
        if isinstance(default, int):
            try:
                ok = not isinstance(value, bool) and float(value).is_integer() and value >= 1
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise InputError(f"{where}: expected an integer >= 1, got {value!r}")
            return int(value)
        if isinstance(default, float):
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise InputError(f"{where}: expected a number, got {value!r}") from None
            if not math.isfinite(v):
                raise InputError(f"{where}: expected a finite number, got {value!r}")
            return v
        if isinstance(default, str):
            value = str(value)
            allowed = self.choices.get(key)
            if allowed is not None and value not in allowed:
                raise InputError(f"{where}: one of {', '.join(allowed)}, got {value!r}")
            return value
        return value

    @property
    def params(self) -> dict[str, Any]:
        """Effective parameters (defaults merged with the given ones)."""
        return dict(self._params)

    def factors(self) -> tuple[int, ...]:
        """Per-image gradient work as a product of splittable factors (default: one gradient)."""
        return ()

    @property
    def gradient_evaluations(self) -> int:
        """Model gradient evaluations per image (forward + backward passes)."""
        return math.prod(self.factors())

    def make_plan(self, batch_size: int, n_images: int | None = None) -> Plan:
        return plan_batches(self.factors(), batch_size, n_images)

    def bind(self, ctx, plan: Plan) -> None:
        """Attach the model context and batching plan used by :meth:`compute`."""
        self.ctx, self.plan = ctx, plan

    def display(self, raw: np.ndarray) -> np.ndarray:
        """Raw attributions ``(B, S, S, C)`` -> display maps ``float32 (B, S, S)`` in [0, 1]
        (the recipe :data:`~saliency_audit.saliency.postprocess.RECIPE`)."""
        return postprocess_batch(raw)

    def describe(self) -> dict[str, Any]:
        """What the map sidecar records of this method beyond its name and parameters: the
        raw-to-map ``recipe`` (and, for methods that read a layer, where; see overrides)."""
        return {"recipe": RECIPE}

    def _require_bound(self):
        if self.ctx is None or self.plan is None:
            raise RuntimeError(f"{self.name}: call bind(ctx, plan) (or use SaliencyEngine) first")
        return self.ctx, self.plan

    def signs(self, x: np.ndarray) -> np.ndarray:
        """Sign of the explained class per clean input (``(B,)``, see ``ModelContext.signs``)."""
        ctx, plan = self._require_bound()
        return ctx.signs(x, plan.batch)

    @abc.abstractmethod
    def compute(self, batch_inputs: np.ndarray, seeds) -> np.ndarray:
        """``float32 (B, S, S, 3)`` inputs, ``B`` seeds -> raw ``float32 (B, S, S, C)``."""

    @abc.abstractmethod
    def reference(self, x: np.ndarray, seed: int) -> np.ndarray:
        """The ``saliency`` package's plain per-sample call for ONE input ``(S, S, 3)``.

        Unbatched (batch 1, unpadded model function) and drawing SmoothGrad noise the way
        ``GetSmoothedMask`` does from ``np.random`` seeded with ``seed``. For checks and
        benchmarks; returns ``float32 (S, S, C)`` comparable with :meth:`compute`.
        """

    @staticmethod
    def _seeds(seeds, n: int) -> list[int]:
        seeds = [int(s) for s in seeds]
        if len(seeds) != n:
            raise ValueError(f"need one seed per image: {n} images, {len(seeds)} seeds")
        return seeds

    def _plain_sign(self, x: np.ndarray) -> float:
        ctx, _ = self._require_bound()
        return float(ctx.signs(x[None], None)[0])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"
