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

import matplotlib

matplotlib.use("Agg")

#: the per-dataset report figures (``figure`` path template's ``name``) and their captions
FIGURES = {
    "figure2_utility": "Figure 2 - localization utility",
    "figure3_randomization": "Figure 3 - cascading randomization",
    "figure3_panel": "Figure 3 - example under randomization",
    "figure4_agreement": "Figure 4 - repeatability and reproducibility",
    "overlays": "Example overlays",
}


from .agreement import figure_agreement  # noqa: E402
from .overlays import figure_overlays  # noqa: E402
from .randomization import figure_randomization, figure_randomization_panel  # noqa: E402
from .utility import figure_utility  # noqa: E402

__all__ = [
    "FIGURES",
    "figure_agreement",
    "figure_overlays",
    "figure_randomization",
    "figure_randomization_panel",
    "figure_utility",
]
