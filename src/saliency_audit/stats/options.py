"""How the contrasts of one family are tested: :class:`TestOptions`."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InputError

#: ``statsmodels.stats.multitest.multipletests`` methods
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
#: simultaneous (max-|z|) adjustments from the joint normal distribution of the estimates
SIMULTANEOUS = ("single-step", "tukey")
ADJUSTMENTS = (*MULTITEST_METHODS, *SIMULTANEOUS, "none")
FALLBACKS = ("paired-t", "wilcoxon")
DUPLICATES = ("error", "mean")


@dataclass(frozen=True)
class TestOptions:
    """Significance level, multiplicity adjustment and fallbacks of one family of contrasts.

    ``alpha``: two-sided level; ``adjust``: one of :data:`ADJUSTMENTS` (``tukey``: the
    paper's Tukey HSD); ``fallback``: the test when the mixed model cannot be used;
    ``duplicates``: several rows per (method, image) are an ``error`` or averaged (``mean``);
    ``seed`` and ``n_draws``: the Monte Carlo draws of the simultaneous adjustments.
    """

    __test__ = False  # not a pytest test class

    alpha: float = 0.05
    adjust: str = "holm"
    fallback: str = "paired-t"
    duplicates: str = "error"
    seed: int = 0
    n_draws: int = 100_000

    def __post_init__(self):
        alpha = self.alpha
        if isinstance(alpha, bool) or not (isinstance(alpha, int | float) and 0 < alpha < 1):
            raise InputError(f"alpha must be between 0 and 1, got {alpha!r}")
        for name, allowed in (
            ("adjust", ADJUSTMENTS),
            ("fallback", FALLBACKS),
            ("duplicates", DUPLICATES),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

    @classmethod
    def of(cls, options: TestOptions | None = None, **overrides) -> TestOptions:
        """``options`` (default: the defaults) with keyword ``overrides``."""
        return replace(options or cls(), **overrides)
