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
    return targets
