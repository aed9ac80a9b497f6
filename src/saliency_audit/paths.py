"""Every file the workflow reads or writes under the results folder: one template each.

Templates are relative to the results folder and hold Snakemake wildcards (``{dataset}``,
``{model}``, ``{baseline}``, ``{method}``, ``{step}``, ``{name}``, ``{ext}``). Rules, input
functions, jobs, tests and benchmarks all take their paths from here:

>>> p = Paths("results")
>>> p.images
'results/{dataset}/images/images.npy'
>>> p("saliency_maps", dataset="pneumonia", model="densenet121_r1", method="GCAM")
'results/pneumonia/saliency/densenet121_r1/GCAM.npy'
>>> p("saliency_maps", method="GCAM")  # unknown wildcards stay (as expand(allow_missing=True))
'results/{dataset}/saliency/{model}/GCAM.npy'
"""

from __future__ import annotations

import re
import string

TEMPLATES: dict[str, str] = {
    # synthesize / convert
    "synthetic": "synthetic/{dataset}",
    "images": "{dataset}/images/images.npy",
    "masks": "{dataset}/images/masks.npy",
    "index": "{dataset}/images/index.csv",
    "boxes": "{dataset}/images/boxes.csv",
    "convert_summary": "{dataset}/images/convert.json",
    # split / sample
    "split": "{dataset}/splits/split.csv",
    "sample": "{dataset}/splits/sample.csv",
    "positives": "{dataset}/splits/positives.csv",
    # classifiers
    "model": "{dataset}/models/{model}/model.keras",
    "torch_model": "{dataset}/models/{model}/model.pt",
    "history": "{dataset}/models/{model}/history.csv",
    "learning_curve": "{dataset}/models/{model}/learning_curve.png",
    "predictions": "{dataset}/models/{model}/test_predictions.csv",
    "test_metrics": "{dataset}/models/{model}/test_metrics.json",
    "classifiers": "{dataset}/models/classifiers.csv",
    # localisation baselines (U-Net / RetinaNet replicates)
    "baseline_model": "{dataset}/baselines/{baseline}/model.keras",
    "baseline_history": "{dataset}/baselines/{baseline}/history.csv",
    "baseline_curve": "{dataset}/baselines/{baseline}/learning_curve.png",
    "baseline_maps": "{dataset}/baselines/{baseline}/maps.npy",
    "baseline_rows": "{dataset}/baselines/{baseline}/maps_rows.csv",
    # saliency maps of the trained models and of the randomized ones, with their sidecars
    "saliency_maps": "{dataset}/saliency/{model}/{method}.npy",
    "saliency_raw": "{dataset}/saliency/{model}/{method}_raw.npy",
    "saliency_meta": "{dataset}/saliency/{model}/{method}.json",
    "random_maps": "{dataset}/randomization/{model}/{step}/{method}.npy",
    "random_raw": "{dataset}/randomization/{model}/{step}/{method}_raw.npy",
    "random_meta": "{dataset}/randomization/{model}/{step}/{method}.json",
    # the cheXlocalize protocol: maps of the further images it needs, probabilities, results
    "localize_maps": "{dataset}/localize/maps/{model}/{method}.npy",
    "localize_meta": "{dataset}/localize/maps/{model}/{method}.json",
    "localize_probabilities": "{dataset}/localize/maps/{model}/probabilities.csv",
    "localize_table": "{dataset}/localize/{name}.csv",
    "localize_section": "{dataset}/localize/section.md",
    "localize_figure": "{dataset}/figures/localization_characteristics.png",
    "localize_segmentations": "{dataset}/localize/segmentations/{model}/{method}.json",
    "localize_ground_truth": "{dataset}/localize/segmentations/ground_truth.json",
    # trust tests beyond the paper: faithfulness curves, the data randomization test's
    # classifier (labels permuted within the training split; its maps are the randomization
    # step "permuted_labels"), the planted-shortcut benchmark (its own synthetic data)
    "faithfulness": "{dataset}/trust/faithfulness.csv",
    "faithfulness_curves": "{dataset}/trust/faithfulness_curves.csv",
    "faithfulness_figure": "{dataset}/figures/faithfulness.png",
    "permuted_model": "{dataset}/trust/permuted_labels/{model}/model.keras",
    "permuted_history": "{dataset}/trust/permuted_labels/{model}/history.csv",
    "permuted_curve": "{dataset}/trust/permuted_labels/{model}/learning_curve.png",
    "permuted_predictions": "{dataset}/trust/permuted_labels/{model}/test_predictions.csv",
    "permuted_metrics": "{dataset}/trust/permuted_labels/{model}/test_metrics.json",
    "shortcut_data": "shortcut/data/{name}",
    "shortcut_model": "shortcut/models/{variant}/model.keras",
    "shortcut_history": "shortcut/models/{variant}/history.csv",
    "shortcut_curve": "shortcut/models/{variant}/learning_curve.png",
    "shortcut_predictions": "shortcut/models/{variant}/test_predictions.csv",
    "shortcut_metrics": "shortcut/models/{variant}/test_metrics.json",
    "shortcut_maps": "shortcut/saliency/{variant}/{method}.npy",
    "shortcut_raw": "shortcut/saliency/{variant}/{method}_raw.npy",
    "shortcut_meta": "shortcut/saliency/{variant}/{method}.json",
    "shortcut_table": "shortcut/{name}.csv",
    "shortcut_section": "shortcut/section.md",
    "shortcut_figure": "shortcut/shortcut.png",
    # metrics, statistics, figures, report
    "method_metrics": "{dataset}/metrics/{method}.csv",
    "segmentations": "{dataset}/metrics/{method}_otsu_segmentations.json",
    "baseline_metrics": "{dataset}/metrics/baselines.csv",
    "stats": "{dataset}/stats/{name}.{ext}",
    "figure": "{dataset}/figures/{name}.png",
    "qc_figure": "{dataset}/figures/qc.png",
    "saliency_panel": "{dataset}/figures/saliency_{model}.png",
    "summary": "report/summary.md",
    "provenance": "provenance.json",  # the latest run
    "provenance_run": "logs/provenance/{started}.json",  # every run
    # reruns of the audit with other training seeds (stats.replicate_seeds), each a whole
    # results folder of its own
    "replica": "replicas/{replica}",
    "replica_config": "replicas/{replica}/config.yaml",
    "stability": "{dataset}/stats/verdict_stability.{ext}",
}

#: the statistics tables of a dataset (``stats`` template): name -> extensions
TABLES: dict[str, tuple[str, ...]] = {
    "verdicts": ("csv",),
    "localization": ("csv",),
    "table2": ("csv", "md"),
    "table3": ("csv", "md"),
    "table4": ("csv", "md"),
    "comparisons": ("csv", "md"),
    "utility_by_model": ("csv", "md"),
    "trust": ("csv", "md"),
}

#: the tables of the cheXlocalize protocol (``localize_table`` template's ``name``)
LOCALIZE_TABLES = ("per_image", "thresholds", "summary", "comparisons", "regressions")

_FIELD = re.compile(r"\{([A-Za-z_]+)\}")


def fill(template: str, /, **wildcards: object) -> str:
    """``template`` with the given wildcards filled; the others stay ``{name}``."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    unknown = set(wildcards) - names
    if unknown:
        raise KeyError(f"{template!r} has no wildcard(s) {', '.join(sorted(unknown))}")
    return _FIELD.sub(
        lambda m: str(wildcards[m.group(1)]) if m.group(1) in wildcards else m.group(0), template
    )


class Paths:
    """The templates of :data:`TEMPLATES` under one results folder.

    ``paths.NAME`` is the template (wildcards unfilled, for rule outputs); ``paths(NAME,
    **wildcards)`` fills some or all of them; ``paths.log(rule, *parts)`` and
    ``paths.benchmark(rule, *parts)`` are the per-job log and benchmark files.
    """

    def __init__(self, results: str):
        self.results = str(results).rstrip("/") or "."

    def __getattr__(self, name: str) -> str:
        if name.startswith("_") or name not in TEMPLATES:
            raise AttributeError(name)
        return f"{self.results}/{TEMPLATES[name]}"

    def __call__(self, template: str, /, **wildcards: object) -> str:
        if template not in TEMPLATES:
            raise KeyError(f"no path template {template!r}; known: {', '.join(TEMPLATES)}")
        return fill(getattr(self, template), **wildcards)

    def log(self, rule: str, *parts: str) -> str:
        """``logs/<rule>/<part>/.../<last>.log`` (``parts`` may hold wildcards)."""
        return self._job_file("logs", rule, parts, "log")

    def benchmark(self, rule: str, *parts: str) -> str:
        """``benchmarks/<rule>/<part>/.../<last>.tsv``."""
        return self._job_file("benchmarks", rule, parts, "tsv")

    def _job_file(self, folder: str, rule: str, parts: tuple[str, ...], ext: str) -> str:
        if not parts:
            return f"{self.results}/{folder}/{rule}.{ext}"
        return f"{self.results}/{folder}/{rule}/{'/'.join(parts)}.{ext}"

    def stats_files(self, dataset: str = "{dataset}") -> dict[str, str]:
        """``{name}_{ext}`` -> path of every statistics table of ``dataset``."""
        return {
            f"{name}_{ext}": self("stats", dataset=dataset, name=name, ext=ext)
            for name, exts in TABLES.items()
            for ext in exts
        }
