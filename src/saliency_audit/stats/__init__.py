"""Statistics of the audit: mixed-effects contrasts, the paper's verdicts, Tables 2-4.

* :mod:`.data` -- tidy metric rows checked, cleaned, selected and ordered;
* :mod:`.options` -- :class:`TestOptions` (alpha, adjustment, fallback, duplicates, seed);
* :mod:`.mixed` -- the linear mixed-effects model (statsmodels MixedLM, random intercept per
  image); :mod:`.fallback` -- paired-t / Wilcoxon tests when it cannot be used;
  :mod:`.adjust` -- multiple-comparison adjustment of one family;
* :mod:`.compare` -- ``contrasts``, ``sample_contrasts``: methods against baselines;
* :mod:`.verdict` -- ``decide`` / ``apply_verdicts`` (pure rules) and ``utility_verdicts``,
  ``randomization_verdicts``, ``agreement_verdicts`` (tidy metrics -> verdict rows);
* :mod:`.tables` -- ``verdict_table``, ``model_utility_table``, ``write_table``.
"""

from .compare import CONTRAST_COLUMNS, contrasts, sample_contrasts
from .options import TestOptions
from .tables import model_utility_table, verdict_table, write_markdown, write_table
from .verdict import (
    FAIL,
    NOT_TESTED,
    PASS,
    UNCERTAIN,
    agreement_verdicts,
    apply_verdicts,
    decide,
    paired_verdicts,
    randomization_verdicts,
    utility_verdicts,
)

__all__ = [
    "CONTRAST_COLUMNS",
    "FAIL",
    "NOT_TESTED",
    "PASS",
    "TestOptions",
    "UNCERTAIN",
    "agreement_verdicts",
    "apply_verdicts",
    "contrasts",
    "decide",
    "model_utility_table",
    "paired_verdicts",
    "randomization_verdicts",
    "sample_contrasts",
    "utility_verdicts",
    "verdict_table",
    "write_markdown",
    "write_table",
]
