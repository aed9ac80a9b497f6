"""Statistics of the audit: mixed-effects contrasts, the paper's verdicts, Tables 2-4.

* :mod:`.mixed` -- ``fit_mixed``, ``contrasts``, ``sample_contrasts`` (statsmodels MixedLM with a
  random intercept per image; paired-t / Wilcoxon fallback; multiple-comparison adjustment);
* :mod:`.verdict` -- ``decide`` / ``apply_verdicts`` (pure rules) and ``utility_verdicts``,
  ``randomization_verdicts``, ``agreement_verdicts`` (tidy metrics -> verdict rows);
* :mod:`.tables` -- ``table2_utility``, ``table3_randomization``, ``table4_agreement``,
  ``verdict_table``, ``write_table``.
"""

from .mixed import PAPER_METHODS, contrasts, fit_mixed, sample_contrasts
from .tables import (
    model_utility_table,
    table2_utility,
    table3_randomization,
    table4_agreement,
    verdict_table,
    write_table,
)
from .verdict import (
    FAIL,
    NOT_TESTED,
    PASS,
    UNCERTAIN,
    agreement_verdicts,
    apply_verdicts,
    decide,
    randomization_verdicts,
    utility_verdicts,
)

__all__ = [
    "model_utility_table",
    "FAIL",
    "NOT_TESTED",
    "PAPER_METHODS",
    "PASS",
    "UNCERTAIN",
    "agreement_verdicts",
    "apply_verdicts",
    "contrasts",
    "decide",
    "fit_mixed",
    "randomization_verdicts",
    "sample_contrasts",
    "table2_utility",
    "table3_randomization",
    "table4_agreement",
    "utility_verdicts",
    "verdict_table",
    "write_table",
]
