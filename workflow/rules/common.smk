import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
# Scripts run in their own interpreters (and on cluster nodes): give them the package too.
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

from saliency_audit import config as config_schema  # noqa: E402
from saliency_audit import provenance  # noqa: E402
from saliency_audit.execution import job_resources  # noqa: E402
from saliency_audit.errors import InputError  # noqa: E402
from saliency_audit.figures import FIGURES  # noqa: E402
from saliency_audit.formats import dataset_layout, dataset_options, get_format  # noqa: E402
from saliency_audit.paths import LOCALIZE_TABLES, Paths  # noqa: E402
from saliency_audit import seeds  # noqa: E402
from saliency_audit.seeds import derive_seed  # noqa: E402
from saliency_audit.vocabulary import (  # noqa: E402
    AGREEMENT_KINDS,
    CASCADE,
    PERMUTED_LABELS,
    SHORTCUT_VARIANTS,
    STEP_KINDS,
    TRAINED,
    high_baseline,
)

try:
    config_schema.validate(config)
except InputError as exc:
    raise WorkflowError(str(exc))

P = Paths(config["results"])
DATASETS = sorted(config["datasets"])
SEED = config["seed"]


def cpu_job(mem_mb, runtime):
    """resources: of a CPU job (first-attempt MB and minutes; both grow on retries)."""
    return job_resources(mem_mb, runtime)


def gpu_job(mem_mb, runtime):
    """resources: of a model job: as cpu_job, plus execution.gpus GPUs (none when 0)."""
    return job_resources(mem_mb, runtime, gpus=config["execution"]["gpus"])


# Provenance: jobs record the commit and config hash from the environment (not as params, so a
# new commit reruns nothing); results/provenance.json records the whole run (handlers below).
_GIT = provenance.git_state(workflow.basedir)
os.environ[provenance.COMMIT_ENV] = provenance.short(_GIT["commit"], _GIT["dirty"])
os.environ[provenance.CONFIG_HASH_ENV] = provenance.config_hash(config)
_RUN = {"started": provenance.now()}


def write_provenance(status):
    """results/provenance.json (the latest run) and a copy per run under logs/provenance/."""
    record = provenance.record(
        root=workflow.basedir,
        config=config,
        lock=Path(workflow.basedir) / "requirements/lock.txt",
        started=_RUN["started"],
        finished=None if status == "running" else provenance.now(),
        status=status,
    )
    provenance.write(P.provenance, record)
    provenance.write(P("provenance_run", started=_RUN["started"].replace(":", "")), record)


onstart:
    write_provenance("running")


onsuccess:
    write_provenance("completed")


onerror:
    write_provenance("failed")


def classifier_models():
    """Model id -> spec: trained replicates NAME_r1..NAME_rK, or imported models NAME (a
    ``torch`` mapping: a PyTorch classifier)."""
    models = {}
    for name, spec in config["models"]["classifiers"].items():
        if "path" in spec:
            models[name] = {k: spec[k] for k in ("path", "torch") if k in spec}
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


def _check_datasets():
    for ds in DATASETS:
        cfg = config["datasets"][ds]
        if cfg["task"] == "detection" and config["image_size"] % 32:
            raise WorkflowError(
                f"config key image_size: {config['image_size']} is not a multiple of 32, "
                f"which RetinaNet's feature pyramid needs for detection dataset {ds!r} "
                "(e.g. 96, 128, 320)"
            )
        try:
            dataset_options(get_format(cfg["format"]), cfg)
        except InputError as exc:
            raise WorkflowError(f"config key datasets.{ds}: {exc}")


_check_method_params()
_check_datasets()
TRAINED = [m for m, spec in MODELS.items() if "arch" in spec]
IMPORTED = [m for m, spec in MODELS.items() if "path" in spec and "torch" not in spec]
TORCH = [m for m, spec in MODELS.items() if "torch" in spec]


def model_path(model, dataset="{dataset}"):
    """A classifier's file in the results: ``model.keras``, or ``model.pt`` (PyTorch)."""
    return P("torch_model" if model in TORCH else "model", dataset=dataset, model=model)


def model_file(wildcards):
    return model_path(wildcards.model, wildcards.dataset)


def model_env(wildcards):
    """The conda environment of a job that runs a classifier (PyTorch models: with torch);
    ``wildcards``: a job's wildcards or a model name."""
    model = getattr(wildcards, "model", wildcards)
    return "../../envs/torch.yaml" if model in TORCH else "../../envs/tensorflow.yaml"


def backend_params(model):
    """How a job opens a classifier: its spec (a ``torch`` mapping: PyTorch), its architecture
    (the randomization blocks of a trained Keras model) and the device."""
    spec = MODELS[model]
    return {
        "spec": spec if "torch" in spec else None,
        "arch": spec.get("arch"),
        "device": config["saliency"]["device"],
    }


def baseline_kind(dataset):
    """The localisation baseline of a dataset's task (unet | retinanet)."""
    return high_baseline(config["datasets"][dataset]["task"])[0]


def baselines(dataset):
    kind = baseline_kind(dataset)
    return [f"{kind}_r{k}" for k in range(1, config["models"][kind]["replicates"] + 1)]


def weights_setting(arch):
    """The ``models.weights`` setting of an architecture (imagenet | none | a file)."""
    setting = config["models"]["weights"]
    if isinstance(setting, dict):
        setting = setting.get(arch)
    if setting is not None and not isinstance(setting, str):
        raise WorkflowError(f"config key models.weights.{arch}: expected imagenet, none or a file")
    return setting


def initial_weights(arch):
    """``(file or None, description)``; stops the run naming a missing ImageNet file."""
    from saliency_audit.models.registry import initial_weights as resolve

    try:
        return resolve(arch, weights_setting(arch))
    except InputError as exc:
        raise WorkflowError(str(exc))


for _arch in dict.fromkeys(MODELS[m]["arch"] for m in TRAINED):
    initial_weights(_arch)  # a missing ImageNet file stops even a dry run, naming the file


def weights_input(wildcards):
    path, _ = initial_weights(MODELS[wildcards.model]["arch"])
    return {"weights": str(path)} if path else {}


def imported_model_path(wildcards):
    return MODELS[wildcards.model]["path"].format(dataset=wildcards.dataset)


def classifier_metrics(wildcards):
    return {m: P("test_metrics", dataset=wildcards.dataset, model=m) for m in MODELS}


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(MODELS),
    baseline="(unet|retinanet)_r[0-9]+",


def is_synthetic(dataset):
    return "synthetic" in config["datasets"][dataset]


def dataset_root(dataset):
    """Folder that holds the dataset in its real layout (generated for synthetic ones)."""
    if is_synthetic(dataset):
        return P("synthetic", dataset=dataset)
    return config["datasets"][dataset]["root"]


def convert_inputs(wildcards):
    """The synthetic dataset folder, or the real label files (images are found from them)."""
    ds = wildcards.dataset
    if is_synthetic(ds):
        return {"root": dataset_root(ds)}
    cfg = config["datasets"][ds]
    fmt = get_format(cfg["format"])
    root = Path(dataset_root(ds))
    layout = dataset_layout(fmt, cfg, root)
    return {key: str(root / layout[key]) for key in fmt.label_files(layout)}


def split_inputs(wildcards):
    files = {"index": P("index", dataset=wildcards.dataset)}
    split_csv = config["datasets"][wildcards.dataset].get("split_csv")
    if split_csv:
        files["given"] = split_csv
    return files


def train_seed(dataset, model):
    """A classifier's or localiser's training seed (``models.training.replica`` k > 0: the
    k-th other seed, for the reruns of stats.replicate_seeds)."""
    replica = config["models"]["training"]["replica"]
    extra = [f"replica{replica}"] if replica else []
    return derive_seed(SEED, "train", dataset, model, *extra)


def method_params(method):
    return dict(config["saliency"]["params"].get(method, {}))


def noise_seed(dataset, model, method, step=TRAINED):
    """Noise seed of a method's maps (config key saliency.noise: independent per model and
    step, or common to all)."""
    return seeds.noise_seed(SEED, dataset, model, method, step, config["saliency"]["noise"])


def model_arch(model):
    return MODELS[model].get("arch")


def gradcam_layer(model):
    """The Grad-CAM layer: config override by model or architecture name, else the
    architecture's last block (imported models: found from the model)."""
    return architecture_layer(model_arch(model), model)


def architecture_layer(arch, model=None):
    """The Grad-CAM layer of an architecture (and model): saliency.gradcam_layers' entry for
    the model or the architecture, else the architecture's registered layer."""
    from saliency_audit.models.registry import get_architecture

    overrides = config["saliency"]["gradcam_layers"]
    for key in (model, arch):
        if key is not None and key in overrides:
            return overrides[key]
    return get_architecture(arch).gradcam_layer if arch else None


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
        if m not in TRAINED and m not in TORCH:
            raise WorkflowError(
                f"config key randomization.models: {m!r} is not a trained classifier or a "
                f"PyTorch one (trained: {', '.join(TRAINED) or 'none'}); imported Keras models "
                "have no block registry"
            )
    return chosen


def randomization_steps(model):
    from saliency_audit.models.randomize import randomization_steps as steps

    from saliency_audit.backends import torch_spec

    cfg = config["randomization"]
    arch = model_arch(model)
    owner = arch or (torch_spec(MODELS[model]) or {}).get("blocks", [])
    blocks = cfg["blocks"]
    if isinstance(blocks, dict):  # cut points per architecture (or model); else every block
        blocks = blocks.get(arch or model)
    try:
        return steps(owner, blocks, cfg["independent"], owner=model)
    except InputError as exc:
        raise WorkflowError(str(exc))


RANDOMIZED = randomized_models()
STEPS = {m: randomization_steps(m) for m in RANDOMIZED}
STEP_PATTERN = "(" + "|".join(STEP_KINDS) + ")_[A-Za-z0-9_]+"


def step_names(model, kind=None):
    return [s.name for s in STEPS.get(model, []) if kind is None or s.kind == kind]


def step_specs(model, names=None):
    """A randomize job's steps (all of the model's, or ``names``): name, kind, blocks."""
    chosen = STEPS[model] if names is None else [s for s in STEPS[model] if s.name in names]
    return [{"name": s.name, "kind": s.kind, "blocks": list(s.blocks)} for s in chosen]


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
    repeatability, reproducibility = AGREEMENT_KINDS
    pairs = {}
    first = config["models"]["classifiers"]
    names = list(first)
    if names and "arch" in first[names[0]] and first[names[0]]["replicates"] >= 2:
        pairs[repeatability] = (f"{names[0]}_r1", f"{names[0]}_r2")
    if len(names) >= 2:
        firsts = first_replicates()
        pairs[reproducibility] = (firsts[0], firsts[1])
    return pairs


def stability_files():
    """Dataset -> verdict_stability.csv when stats.replicate_seeds > 0, else {}."""
    if not config["stats"]["replicate_seeds"]:
        return {}
    return {ds: P("stability", dataset=ds, ext="csv") for ds in DATASETS}


# ---------------------------------------------------------------- the cheXlocalize protocol
LOCALIZE = config["localize"]


def localize_methods():
    """The protocol's methods (localize.methods, checked against saliency.methods)."""
    chosen = LOCALIZE["methods"] or METHODS
    unknown = [m for m in chosen if m not in METHODS]
    if unknown:
        raise WorkflowError(
            f"config key localize.methods: {', '.join(unknown)} not in saliency.methods "
            f"({', '.join(METHODS)})"
        )
    return list(chosen)


def localize_models():
    chosen = LOCALIZE["models"] or list(MODELS)
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise WorkflowError(
            f"config key localize.models: {', '.join(unknown)} not classifier models "
            f"({', '.join(MODELS)})"
        )
    return list(chosen)


def localize_ensembles():
    """NAME_ensemble -> its replicates among the protocol's models (two or more)."""
    if not LOCALIZE["ensembles"]:
        return {}
    out = {}
    for name, spec in config["models"]["classifiers"].items():
        members = [
            f"{name}_r{k}"
            for k in range(1, spec.get("replicates", 0) + 1)
            if f"{name}_r{k}" in localize_models()
        ]
        if "path" not in spec and len(members) >= 2:
            out[f"{name}_ensemble"] = members
    return out


def localize_settings():
    """The protocol's settings the evaluation job reads (localize.*)."""
    keys = ("threshold", "grid", "gating", "probability_grid", "evaluate_on")
    keys += ("benchmark_threshold", "n_boot", "level")
    return {k: LOCALIZE[k] for k in keys}


def protocol_tasks(dataset, model):
    """The protocol's map tasks of a model: its main maps' method, parameters and seed, the
    protocol's files (no raw maps)."""
    where = dict(dataset=dataset, model=model)
    return [
        {
            **map_task(dataset, model, m),
            "out_maps": P("localize_maps", method=m, **where),
            "out_json": P("localize_meta", method=m, **where),
            "out_raw": None,
        }
        for m in localize_methods()
    ]


def protocol_outputs():
    """The outputs of the job that makes a model's protocol maps and probabilities ({} when
    the protocol is off)."""
    if not LOCALIZE["enabled"]:
        return {}
    return {
        "localize_maps": expand(P.localize_maps, method=localize_methods(), allow_missing=True),
        "localize_meta": expand(P.localize_meta, method=localize_methods(), allow_missing=True),
        "probabilities": P.localize_probabilities,
    }


def protocol_params(wildcards):
    """What the job making a model's protocol maps needs (None when the protocol is off):
    which images (not the evaluation's other settings, so changing those reruns only the
    evaluation) and the tasks."""
    if not LOCALIZE["enabled"]:
        return None
    from saliency_audit.jobs.localize import needs

    return {
        "need": needs(localize_settings()),
        "tasks": protocol_tasks(wildcards.dataset, wildcards.model),
    }


def localize_finding(dataset):
    """The finding audited: the target option of a multi-label format, else the format's."""
    cfg = config["datasets"][dataset]
    fmt = get_format(cfg["format"])
    return dataset_options(fmt, cfg).get("target") or fmt.finding or dataset


def human_benchmark(dataset):
    """The dataset's human benchmark JSON (absolute, or under its root) or None."""
    value = config["datasets"][dataset].get("human_benchmark")
    if not value:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else Path(dataset_root(dataset)) / path)


def localize_outputs():
    out = {name: P("localize_table", name=name) for name in LOCALIZE_TABLES}
    out["summary"] = report(
        out["summary"],
        caption="../report/localization_summary.rst",
        category="Localisation (cheXlocalize)",
        subcategory="{dataset}",
        labels={"dataset": "{dataset}", "table": "mIoU, hit rate, precision, recall, specificity"},
    )
    out.update(
        section=P.localize_section,
        figure=report(
            P.localize_figure,
            caption="../report/localization_characteristics.rst",
            category="Localisation (cheXlocalize)",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "pathology characteristics"},
        ),
        ground_truth=P.localize_ground_truth,
    )
    return out


def localize_segmentation_files(dataset):
    """Model (and ensemble) -> method -> the cheXlocalize JSON of its segmentations."""
    models = localize_models() + list(localize_ensembles())
    return {
        m: {
            x: P("localize_segmentations", dataset=dataset, model=m, method=x)
            for x in localize_methods()
        }
        for m in models
    }


def localize_model_files(wildcards):
    ds = wildcards.dataset
    return {
        model: {
            "probabilities": P("localize_probabilities", dataset=ds, model=model),
            "maps": {
                m: {
                    "test": {k: map_files(ds, model, m)[k] for k in ("maps", "meta")},
                    "extra": {
                        "maps": P("localize_maps", dataset=ds, model=model, method=m),
                        "meta": P("localize_meta", dataset=ds, model=model, method=m),
                    },
                }
                for m in localize_methods()
            },
        }
        for model in localize_models()
    }


def localize_inputs(wildcards):
    ds = wildcards.dataset
    files = {
        "positives": P("positives", dataset=ds),
        "masks": P("masks", dataset=ds),
        "index": P("index", dataset=ds),
        "split": P("split", dataset=ds),
    }
    for model, spec in localize_model_files(wildcards).items():
        files[f"prob_{model}"] = spec["probabilities"]
        for m, f in spec["maps"].items():
            for phase, pair in f.items():
                for kind, path in pair.items():
                    files[f"{phase}_{kind}_{model}_{m}"] = path
    for b, f in baseline_files(wildcards).items():
        if b == high_baseline_model(ds):
            files.update({f"bench_{b}_{k}": v for k, v in f.items()})
    human = human_benchmark(ds)
    if human:
        synthetic = config["datasets"][ds].get("synthetic")
        files["human"] = P("synthetic", dataset=ds) if synthetic else human
    return files


def localize_files():
    """Dataset -> its section (the summary includes it) when the protocol is on."""
    if not LOCALIZE["enabled"]:
        return {}
    return {ds: P("localize_section", dataset=ds) for ds in DATASETS}


def all_targets():
    targets = []
    for ds in DATASETS:
        targets += [
            P("images", dataset=ds),
            P("split", dataset=ds),
            P("sample", dataset=ds),
            P("qc_figure", dataset=ds),
            P("classifiers", dataset=ds),
        ]
        targets += [P("baseline_maps", dataset=ds, baseline=b) for b in baselines(ds)]
        targets += [
            P("saliency_maps", dataset=ds, model=m, method=x) for m in MODELS for x in METHODS
        ]
        targets += [P("saliency_panel", dataset=ds, model=m) for m in MODELS]
        targets += list(P.stats_files(ds).values())
        targets += [P("stats", dataset=ds, name="table1", ext=x) for x in ("csv", "md")]
        targets += [P("figure", dataset=ds, name=name) for name in FIGURES]
        for m in RANDOMIZED:
            targets += [
                P("random_maps", dataset=ds, model=m, step=s, method=x)
                for s in step_names(m)
                for x in METHODS
            ]
    if stability_files():
        targets += [P("stability", dataset=ds, ext="md") for ds in DATASETS]
    for ds in localize_files():
        targets += [P("localize_table", dataset=ds, name=n) for n in LOCALIZE_TABLES]
        targets += [P("localize_figure", dataset=ds)]
    targets += trust_targets()
    targets.append(P.summary)
    return targets


# ---------------------------------------------------------------- trust tests beyond the paper
TRUST = config["trust"]


def data_randomized_model():
    """The classifier whose twin learns permuted labels (None when the test is off)."""
    cfg = TRUST["data_randomization"]
    if not cfg["enabled"]:
        return None
    chosen = cfg["model"] or (RANDOMIZED[0] if RANDOMIZED else primary_model())
    if chosen not in TRAINED:
        raise WorkflowError(
            f"config key trust.data_randomization.model: {chosen!r} is not a classifier the "
            f"workflow trains ({', '.join(TRAINED) or 'none'}); its twin is trained the same "
            "way on permuted labels"
        )
    return chosen


def shortcut_arch():
    """The architecture of the planted-shortcut benchmark's two classifiers."""
    chosen = TRUST["shortcut"]["arch"] or model_arch(primary_model())
    if chosen is None:
        raise WorkflowError(
            "config key trust.shortcut.arch: the primary model is not trained by the workflow; "
            "name an architecture for the benchmark's classifiers"
        )
    return chosen


def shortcut_methods():
    chosen = TRUST["shortcut"]["methods"] or METHODS
    return list(chosen)


def shortcut_data(name):
    """A file of the benchmark's data (``images.npy``, ``clean.npy``, ``masks.npy``,
    ``marker.npy``, ``index.csv``, ``split.csv``, ``positives.csv``)."""
    return P("shortcut_data", name=name)


SHORTCUT_DATA = {
    key: shortcut_data(f"{key}.{ext}")
    for key, ext in (
        ("images", "npy"),
        ("clean", "npy"),
        ("masks", "npy"),
        ("marker", "npy"),
        ("index", "csv"),
        ("split", "csv"),
        ("positives", "csv"),
    )
}


def shortcut_map_files(variant="{variant}"):
    """Method -> {"maps", "raw", "meta"} of one benchmark classifier's maps."""
    return {
        m: {k: P(f"shortcut_{k}", variant=variant, method=m) for k in ("maps", "raw", "meta")}
        for m in shortcut_methods()
    }


def shortcut_tasks(variant):
    return [
        task_fields(m, noise_seed("shortcut", variant, m), files)
        for m, files in shortcut_map_files(variant).items()
    ]


def faithfulness_maps(wildcards):
    """Method -> the primary model's map files (the faithfulness curves' orders)."""
    return {m: map_files(wildcards.dataset, primary_model(), m) for m in METHODS}


def trust_targets():
    targets = []
    if TRUST["faithfulness"]["enabled"]:
        targets += [P("faithfulness_figure", dataset=ds) for ds in DATASETS]
    model = data_randomized_model()
    if model:
        targets += [
            P("random_maps", dataset=ds, model=model, step=PERMUTED_LABELS, method=m)
            for ds in DATASETS
            for m in METHODS
        ]
    if TRUST["shortcut"]["enabled"]:
        targets += [P.shortcut_section, P.shortcut_figure]
    return targets


# ---------------------------------------------------------------- saliency, metrics, report
METRIC_PARAMS = dict(
    topk_fraction=config["metrics"]["topk_fraction"],
    ssim_window=config["metrics"]["ssim_window"],
    ssim_data_range=config["metrics"]["ssim_data_range"],
    ranking_map=config["metrics"]["ranking_map"],
)
TABLE_TITLES = {
    "verdicts": "all verdicts",
    "localization": "localization (bootstrap CI)",
    "table2": "Table 2 (utility)",
    "table3": "Table 3 (randomization)",
    "table4": "Table 4 (repeatability, reproducibility)",
    "comparisons": "further contrasts",
    "utility_by_model": "utility of every classifier",
    "trust": "trust tests beyond the paper",
}


def map_task(dataset, model, method, step=None):
    """The ``MapTask`` fields of one method's maps, raw maps and sidecar (randomization: at
    ``step``)."""
    where = dict(dataset=dataset, model=model, method=method)
    kind = "saliency" if step is None else "random"
    if step is not None:
        where["step"] = step
    files = {k: P(f"{kind}_{k}", **where) for k in ("maps", "raw", "meta")}
    return task_fields(method, noise_seed(dataset, model, method, step or TRAINED), files)


def task_fields(method, seed, files):
    """The ``MapTask`` fields of one method's maps written to ``files`` (``maps``, ``raw``,
    ``meta``) with noise ``seed``."""
    return {
        "method": method,
        "params": method_params(method),
        "seed": seed,
        "noise": config["saliency"]["noise"],
        "out_maps": files["maps"],
        "out_raw": files["raw"],
        "out_json": files["meta"],
    }


def saliency_tasks(dataset, model, methods):
    return [map_task(dataset, model, m) for m in methods]


def randomize_tasks(dataset, model, steps, methods):
    """Step -> its tasks, one per method."""
    return {step: [map_task(dataset, model, m, step) for m in methods] for step in steps}


def map_files(dataset, model, method, step=None):
    """{"maps", "raw", "meta"}: one method's maps, raw maps and sidecar (randomization: at
    ``step``)."""
    task = map_task(dataset, model, method, step)
    return {"maps": task["out_maps"], "raw": task["out_raw"], "meta": task["out_json"]}


def method_map_files(wildcards):
    """The maps a method's metric job reads, as named mappings: ``saliency`` model -> files,
    ``randomization`` model -> step -> files."""
    ds, m = wildcards.dataset, wildcards.method
    randomization = {
        model: {s: map_files(ds, model, m, s) for s in step_names(model)} for model in RANDOMIZED
    }
    permuted = data_randomized_model()
    if permuted:
        randomization.setdefault(permuted, {})[PERMUTED_LABELS] = map_files(
            ds, permuted, m, PERMUTED_LABELS
        )
    return {
        "saliency": {model: map_files(ds, model, m) for model in MODELS},
        "randomization": randomization,
    }


def _flatten(mapping):
    """Every path in a nested mapping of paths, in order."""
    if isinstance(mapping, dict):
        return [p for v in mapping.values() for p in _flatten(v)]
    return [mapping]


def method_metric_inputs(wildcards):
    ds = wildcards.dataset
    return {
        "positives": P("positives", dataset=ds),
        "masks": P("masks", dataset=ds),
        "maps": _flatten(method_map_files(wildcards)),
    }


def baseline_files(wildcards):
    """Localisation baseline replicate -> {"maps", "rows"}."""
    ds = wildcards.dataset
    return {
        b: {
            "maps": P("baseline_maps", dataset=ds, baseline=b),
            "rows": P("baseline_rows", dataset=ds, baseline=b),
        }
        for b in baselines(ds)
    }


def baseline_metric_inputs(wildcards):
    ds = wildcards.dataset
    return {
        "positives": P("positives", dataset=ds),
        "masks": P("masks", dataset=ds),
        "index": P("index", dataset=ds),
        "split": P("split", dataset=ds),
        "maps": _flatten(baseline_files(wildcards)),
    }


def metric_csvs(wildcards):
    ds = wildcards.dataset
    extra = [P("faithfulness", dataset=ds)] if TRUST["faithfulness"]["enabled"] else []
    return (
        [P("method_metrics", dataset=ds, method=m) for m in METHODS]
        + [P("baseline_metrics", dataset=ds)]
        + extra
    )


def randomized_model():
    return RANDOMIZED[0] if RANDOMIZED else None


def final_step():
    """The randomized model's last configured cascade step: where the randomization verdict
    and the trained-vs-random utility are read."""
    model = randomized_model()
    steps = step_names(model, CASCADE) if model else []
    return steps[-1] if steps else None


def high_baseline_model(dataset):
    return baselines(dataset)[0] if baselines(dataset) else None


def figure_maps(wildcards):
    """The maps the figures read: ``primary`` method -> stack; ``randomized`` cascade step ->
    method -> stack (the first randomized model)."""
    ds, primary, model = wildcards.dataset, primary_model(), randomized_model()
    return {
        "primary": {m: map_files(ds, primary, m)["maps"] for m in METHODS},
        "randomized": {
            s: {m: map_files(ds, model, m, s)["maps"] for m in METHODS}
            for s in step_names(model, CASCADE)
        },
    }


def figure_inputs(wildcards):
    ds = wildcards.dataset
    return {
        "metrics": metric_csvs(wildcards),
        "images": P("images", dataset=ds),
        "masks": P("masks", dataset=ds),
        "positives": P("positives", dataset=ds),
        "maps": _flatten(figure_maps(wildcards)),
    }


def summary_files():
    """What the summary reads, dataset -> file: ``verdicts``, ``by_model`` (utility of every
    classifier), ``classifiers``, ``stability`` (with stats.replicate_seeds) and ``data`` (the
    conversion's summary: format, target, image counts); ``figures``: dataset -> figure name
    -> PNG."""
    return {
        "verdicts": {ds: P("stats", dataset=ds, name="verdicts", ext="csv") for ds in DATASETS},
        "by_model": {
            ds: P("stats", dataset=ds, name="utility_by_model", ext="csv") for ds in DATASETS
        },
        "figures": {ds: {n: P("figure", dataset=ds, name=n) for n in FIGURES} for ds in DATASETS},
        "classifiers": {ds: P("classifiers", dataset=ds) for ds in DATASETS},
        "stability": stability_files(),
        "data": {ds: P("convert_summary", dataset=ds) for ds in DATASETS},
        "localize": localize_files(),
        "localize_figures": {ds: P("localize_figure", dataset=ds) for ds in localize_files()},
        "trust_figures": (
            {ds: P("faithfulness_figure", dataset=ds) for ds in DATASETS}
            if TRUST["faithfulness"]["enabled"]
            else {}
        ),
        "shortcut": (
            {"section": P.shortcut_section, "figure": P.shortcut_figure}
            if TRUST["shortcut"]["enabled"]
            else {}
        ),
    }


def table1_sidecars(wildcards):
    """Method -> the sidecar of the primary model's maps (Table 1 reads them)."""
    return {m: map_files(wildcards.dataset, primary_model(), m)["meta"] for m in METHODS}


def stats_outputs():
    """The stats rule's outputs (``{name}_{ext}`` -> path), the CSVs in the report."""
    out = {}
    for key, path in P.stats_files().items():
        name, ext = key.rsplit("_", 1)
        out[key] = path
        if ext == "csv":
            out[key] = report(
                path,
                caption=f"../report/{name}.rst",
                category="Tables",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "table": TABLE_TITLES[name], "format": ext},
            )
    return out


def _figure(name):
    return report(
        P("figure", name=name),
        caption=f"../report/{name}.rst",
        category="Figures",
        subcategory="{dataset}",
        labels={"dataset": "{dataset}", "figure": name.replace("_", " ")},
    )


# ---------------------------------------------------------------- verdict stability
REPLICAS = list(range(1, config["stats"]["replicate_seeds"] + 1))


def replica_config(k):
    """The config of rerun k: this config with the k-th other training seeds."""
    import copy

    cfg = copy.deepcopy(config)
    cfg["results"] = P("replica", replica=k)
    cfg["models"]["training"]["replica"] = k
    cfg["stats"]["replicate_seeds"] = 0
    return cfg


def replica_verdicts(k="{replica}"):
    """Dataset -> the verdicts of rerun ``k`` (default: the ``{replica}`` wildcard)."""
    sub = Paths(P("replica", replica=k))
    return {ds: sub("stats", dataset=ds, name="verdicts", ext="csv") for ds in DATASETS}
