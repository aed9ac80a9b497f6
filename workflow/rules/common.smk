import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
# Scripts run in their own interpreters (and on cluster nodes): give them the package too.
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

from saliency_audit import config as config_schema  # noqa: E402
from saliency_audit.errors import InputError  # noqa: E402
from saliency_audit.seeds import derive_seed  # noqa: E402

try:
    config_schema.validate(config)
except InputError as exc:
    raise WorkflowError(str(exc))

RESULTS = config["results"]
DATASETS = sorted(config["datasets"])
SEED = config["seed"]


def classifier_models():
    """Model id -> spec: trained replicates NAME_r1..NAME_rK, or imported models NAME."""
    models = {}
    for name, spec in config["models"]["classifiers"].items():
        if "path" in spec:
            models[name] = {"path": spec["path"]}
        else:
            for k in range(1, spec["replicates"] + 1):
                models[f"{name}_r{k}"] = {"arch": spec["arch"], "replicate": k}
    return models


MODELS = classifier_models()
METHODS = config["saliency"]["methods"]


def _check_method_params():
    from saliency_audit.saliency.registry import get_method

    for name, params in config["saliency"]["params"].items():
        try:
            get_method(name, **params)
        except InputError as exc:
            raise WorkflowError(f"config key saliency.params.{name}: {exc}")


_check_method_params()
TRAINED = [m for m, spec in MODELS.items() if "arch" in spec]
IMPORTED = [m for m, spec in MODELS.items() if "path" in spec]
BASELINE_KIND = {"segmentation": "unet", "detection": "retinanet"}


def baseline_kind(dataset):
    return BASELINE_KIND[config["datasets"][dataset]["task"]]


def baselines(dataset):
    kind = baseline_kind(dataset)
    return [f"{kind}_r{k}" for k in range(1, config["models"][kind]["replicates"] + 1)]


def imported_model_path(wildcards):
    return MODELS[wildcards.model]["path"].format(dataset=wildcards.dataset)


def classifier_metrics(wildcards):
    return [
        f"{RESULTS}/{wildcards.dataset}/models/{m}/test_metrics.json" for m in MODELS
    ]


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(MODELS),
    baseline="(unet|retinanet)_r[0-9]+",


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def is_synthetic(dataset):
    return "synthetic" in config["datasets"][dataset]


def dataset_root(dataset):
    """Folder that holds the dataset in its real layout (generated for synthetic ones)."""
    if is_synthetic(dataset):
        return f"{RESULTS}/synthetic/{dataset}"
    return config["datasets"][dataset]["root"]


def dataset_layout(dataset):
    """File layout keys of a dataset (format defaults overridden by config)."""
    from saliency_audit.datasets import DEFAULT_LAYOUT

    cfg = config["datasets"][dataset]
    layout = dict(DEFAULT_LAYOUT[cfg["format"]])
    for key in ("images", "labels", "class_info", "classes"):
        if cfg.get(key) is not None:
            layout[key] = cfg[key]
    if cfg["format"] == "rsna" and "classes" not in layout:
        layout["classes"] = ["Lung Opacity", "Normal"]
    return layout


def convert_inputs(wildcards):
    """The synthetic dataset folder, or the real label CSVs (images are found from them)."""
    if is_synthetic(wildcards.dataset):
        return {"root": dataset_root(wildcards.dataset)}
    layout = dataset_layout(wildcards.dataset)
    root = Path(dataset_root(wildcards.dataset))
    files = {"labels": str(root / layout["labels"])}
    if layout.get("class_info"):
        files["class_info"] = str(root / layout["class_info"])
    return files


def split_inputs(wildcards):
    files = {"index": f"{RESULTS}/{wildcards.dataset}/images/index.csv"}
    split_csv = config["datasets"][wildcards.dataset].get("split_csv")
    if split_csv:
        files["given"] = split_csv
    return files


def method_params(method):
    return dict(config["saliency"]["params"].get(method, {}))


def noise_seed(dataset, method):
    """Noise seed of a method's maps: the same for every model of a dataset, so replicates,
    architectures and randomization steps are compared under the same noise draws."""
    return derive_seed(SEED, "saliency", dataset, method)


def model_arch(model):
    return MODELS[model].get("arch")


def gradcam_layer(model):
    """The Grad-CAM layer: config override by model or architecture name, else the
    architecture's last block (imported models: found from the model)."""
    from saliency_audit.models.registry import get_architecture

    overrides = config["saliency"]["gradcam_layers"]
    arch = model_arch(model)
    for key in (model, arch):
        if key in overrides:
            return overrides[key]
    return get_architecture(arch).gradcam_layer if arch else None


def _check_image_size():
    size = config["image_size"]
    for ds in DATASETS:
        if config["datasets"][ds]["task"] == "detection" and size % 32:
            raise WorkflowError(
                f"config key image_size: {size} is not a multiple of 32, which RetinaNet's "
                f"feature pyramid needs for detection dataset {ds!r} (e.g. 96, 128, 320)"
            )


_check_image_size()


def first_replicates():
    """The first model of each classifier entry (NAME_r1, or an imported NAME)."""
    firsts = []
    for name, spec in config["models"]["classifiers"].items():
        firsts.append(name if "path" in spec else f"{name}_r1")
    return firsts


def randomized_models():
    chosen = config["randomization"]["models"]
    if chosen is None:
        chosen = [m for m in first_replicates() if m in TRAINED][:1]
    for m in chosen:
        if m not in TRAINED:
            raise WorkflowError(
                f"config key randomization.models: {m!r} is not a trained classifier "
                f"(trained: {', '.join(TRAINED) or 'none'}); imported models have no "
                "block registry"
            )
    return chosen


def randomization_steps(model):
    from saliency_audit.models.randomize import randomization_steps as steps

    cfg = config["randomization"]
    arch = model_arch(model)
    blocks = cfg["blocks"]
    if isinstance(blocks, dict):  # cut points per architecture; one not named: every block
        blocks = blocks.get(arch)
    try:
        return steps(arch, blocks, cfg["independent"])
    except InputError as exc:
        raise WorkflowError(str(exc))


RANDOMIZED = randomized_models()
STEPS = {m: randomization_steps(m) for m in RANDOMIZED}


def primary_model():
    chosen = config["stats"]["primary_model"] or first_replicates()[0]
    if chosen not in MODELS:
        raise WorkflowError(
            f"config key stats.primary_model: {chosen!r} is not a classifier model "
            f"({', '.join(MODELS)})"
        )
    return chosen


def agreement_pairs():
    """Repeatability (replicates r1, r2 of the first trained classifier) and reproducibility
    (first replicates of the first two classifiers), where the config has them."""
    pairs = {}
    first = config["models"]["classifiers"]
    names = list(first)
    if names and "arch" in first[names[0]] and first[names[0]]["replicates"] >= 2:
        pairs["repeatability"] = (f"{names[0]}_r1", f"{names[0]}_r2")
    if len(names) >= 2:
        firsts = first_replicates()
        pairs["reproducibility"] = (firsts[0], firsts[1])
    return pairs


def all_targets():
    targets = []
    for ds in DATASETS:
        targets += [
            f"{RESULTS}/{ds}/images/images.npy",
            f"{RESULTS}/{ds}/splits/split.csv",
            f"{RESULTS}/{ds}/splits/sample.csv",
            f"{RESULTS}/{ds}/figures/qc.png",
            f"{RESULTS}/{ds}/models/classifiers.csv",
        ]
        targets += [f"{RESULTS}/{ds}/baselines/{b}/maps.npy" for b in baselines(ds)]
        targets += expand(
            f"{RESULTS}/{ds}/saliency/{{model}}/{{method}}.npy",
            model=MODELS,
            method=METHODS,
        )
        targets += [f"{RESULTS}/{ds}/figures/saliency_{m}.png" for m in MODELS]
        targets += [f"{RESULTS}/{ds}/stats/{t}" for t in STATS_FILES]
        targets += [f"{RESULTS}/{ds}/figures/{name}.png" for name in FIGURES]
        for m in RANDOMIZED:
            targets += expand(
                f"{RESULTS}/{ds}/randomization/{m}/{{step}}/{{method}}.npy",
                step=[s.name for s in STEPS[m]],
                method=METHODS,
            )
    targets.append(f"{RESULTS}/report/summary.md")
    return targets


# ---------------------------------------------------------------- saliency, metrics, report
SALIENCY_DIR = f"{RESULTS}/{{dataset}}/saliency/{{model}}"
RANDOM_DIR = f"{RESULTS}/{{dataset}}/randomization/{{model}}"
POSITIVES = f"{RESULTS}/{{dataset}}/splits/positives.csv"
METRICS_DIR = f"{RESULTS}/{{dataset}}/metrics"
STATS_DIR = f"{RESULTS}/{{dataset}}/stats"
FIG_DIR = f"{RESULTS}/{{dataset}}/figures"
METRIC_PARAMS = dict(
    ssim_window=config["metrics"]["ssim_window"],
    ssim_data_range=config["metrics"]["ssim_data_range"],
    topk_fraction=config["metrics"]["topk_fraction"],
)
TABLE_TITLES = {
    "table2": "Table 2 (utility)",
    "table3": "Table 3 (randomization)",
    "table4": "Table 4 (repeatability, reproducibility)",
    "utility_by_model": "utility of every classifier",
}
STATS_FILES = [
    "verdicts.csv",
    "localization.csv",
    *(f"table{k}.{ext}" for k in (2, 3, 4) for ext in ("csv", "md")),
    "utility_by_model.csv",
    "utility_by_model.md",
]
FIGURES = [
    "figure2_utility",
    "figure3_randomization",
    "figure3_panel",
    "figure4_agreement",
    "overlays",
]


def map_task(wildcards, output, i, method):
    """The ``MapTask`` fields of output ``i`` (a method's maps and sidecar) of a job."""
    return {
        "method": method,
        "params": method_params(method),
        "seed": noise_seed(wildcards.dataset, method),
        "out_maps": output.maps[i],
        "out_json": output.meta[i],
    }


def saliency_tasks(wildcards, output, methods):
    return [map_task(wildcards, output, i, m) for i, m in enumerate(methods)]


def randomize_tasks(wildcards, output, steps, methods=METHODS):
    """Step -> its tasks; the outputs are ordered step by step, method by method."""
    return {
        step: [
            map_task(wildcards, output, k * len(methods) + i, m)
            for i, m in enumerate(methods)
        ]
        for k, step in enumerate(steps)
    }


def step_names(model):
    return [s.name for s in STEPS[model]]


def method_metric_inputs(wildcards):
    ds, m = wildcards.dataset, wildcards.method
    files = {
        "positives": f"{RESULTS}/{ds}/splits/positives.csv",
        "masks": f"{RESULTS}/{ds}/images/masks.npy",
        "saliency": [f"{RESULTS}/{ds}/saliency/{model}/{m}.npy" for model in MODELS],
        "randomization": [
            f"{RESULTS}/{ds}/randomization/{model}/{s.name}/{m}.npy"
            for model in RANDOMIZED
            for s in STEPS[model]
        ],
    }
    return files


def randomization_layout(wildcards, input):
    layout, paths = {}, iter(input.randomization)
    for model in RANDOMIZED:
        layout[model] = {s.name: next(paths) for s in STEPS[model]}
    return layout


def baseline_metric_inputs(wildcards):
    ds = wildcards.dataset
    return {
        "positives": f"{RESULTS}/{ds}/splits/positives.csv",
        "masks": f"{RESULTS}/{ds}/images/masks.npy",
        "index": f"{RESULTS}/{ds}/images/index.csv",
        "split": f"{RESULTS}/{ds}/splits/split.csv",
        "maps": [f"{RESULTS}/{ds}/baselines/{b}/maps.npy" for b in baselines(ds)],
        "rows": [f"{RESULTS}/{ds}/baselines/{b}/maps_rows.csv" for b in baselines(ds)],
    }


def metric_csvs(wildcards):
    ds = wildcards.dataset
    return [f"{RESULTS}/{ds}/metrics/{m}.csv" for m in METHODS] + [
        f"{RESULTS}/{ds}/metrics/baselines.csv"
    ]


def randomized_model():
    return RANDOMIZED[0] if RANDOMIZED else None


def high_baseline_model(dataset):
    return baselines(dataset)[0] if baselines(dataset) else None


def _table(name, ext):
    return report(
        f"{STATS_DIR}/{name}.{ext}",
        caption=f"../report/{name}.rst",
        category="Tables",
        subcategory="{dataset}",
        labels={"dataset": "{dataset}", "table": TABLE_TITLES[name], "format": ext},
    )


def figure_inputs(wildcards):
    ds = wildcards.dataset
    files = {
        "metrics": metric_csvs(wildcards),
        "images": f"{RESULTS}/{ds}/images/images.npy",
        "masks": f"{RESULTS}/{ds}/images/masks.npy",
        "positives": f"{RESULTS}/{ds}/splits/positives.csv",
        "primary": [
            f"{RESULTS}/{ds}/saliency/{primary_model()}/{m}.npy" for m in METHODS
        ],
        "randomized": [
            f"{RESULTS}/{ds}/randomization/{model}/{s.name}/{m}.npy"
            for model in RANDOMIZED[:1]
            for s in STEPS[model]
            if s.kind == "cascade"
            for m in METHODS
        ],
    }
    return files


def _figure(name):
    return report(
        f"{FIG_DIR}/{name}.png",
        caption=f"../report/{name}.rst",
        category="Figures",
        subcategory="{dataset}",
        labels={"dataset": "{dataset}", "figure": name.replace("_", " ")},
    )
