"""The paper's figures (headless matplotlib, Agg backend), written atomically as PNG.

* :func:`figure_utility` -- Figure 2: utility box plots per method with the AVG and
  U-Net/RetinaNet baselines;
* :func:`figure_randomization` -- Figure 3A: mean SSIM under cascading randomization with the
  randomization baselines; :func:`figure_randomization_panel` -- Figure 3B: one image's maps
  per method (rows) and step (columns);
* :func:`figure_agreement` -- Figure 4: repeatability and reproducibility SSIM with the 0.5 and
  U-Net/RetinaNet baselines;
* :func:`figure_overlays` -- example images with each method's map and the ground truth outline;
* :mod:`.panels` -- learning curves and each model's method panel; :mod:`.qc` -- the dataset QC
  figure.

:data:`FIGURES` names the per-dataset figures of the report (file stem -> caption).

Colours follow the paper: low baseline light blue, high baseline dark blue; box plots mark the
median with a solid line and the mean with a dashed line.
"""

from __future__ import annotations

import importlib

#: the per-dataset report figures (``figure`` path template's ``name``) and their captions
FIGURES = {
    "figure2_utility": "Figure 2 - localization utility",
    "figure3_randomization": "Figure 3 - cascading randomization",
    "figure3_panel": "Figure 3 - example under randomization",
    "figure4_agreement": "Figure 4 - repeatability and reproducibility",
    "overlays": "Example overlays",
}

# The figure functions load on first use: the workflow reads FIGURES when it parses (on every
# cluster job too), and matplotlib, SciPy and the statistics would add over a second to that.
_FUNCTIONS = {
    "figure_agreement": "agreement",
    "figure_overlays": "overlays",
    "figure_randomization": "randomization",
    "figure_randomization_panel": "randomization",
    "figure_utility": "utility",
}


def __getattr__(name: str):
    if name in _FUNCTIONS:
        module = importlib.import_module(f".{_FUNCTIONS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FIGURES", *_FUNCTIONS]
