"""The data stages of the workflow end to end on the tiny test config."""

import hashlib
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, job_counts, run_snakemake

from saliency_audit import provenance
from saliency_audit.synth import paper_config_for_format, write_layout_stubs, write_siim

DATA_TARGETS = [
    "images/images.npy",
    "images/masks.npy",
    "images/index.csv",
    "images/boxes.csv",
    "splits/split.csv",
    "splits/sample.csv",
    "figures/qc.png",
]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def test_run(test_config_run):
    """The session's run of configs/test.yaml (through a CPU-only SLURM cluster where one can
    start, else local: conftest.test_config_run); the tests below check its outputs, and
    test_rerun_from_scratch_is_byte_identical reruns it locally."""
    return test_config_run.workdir


def test_outputs_of_both_datasets(test_run):
    for ds in ("pneumothorax", "pneumonia"):
        base = test_run / "results" / ds
        for target in DATA_TARGETS:
            assert (base / target).is_file(), target
        images = np.load(base / "images/images.npy", mmap_mode="r")
        masks = np.load(base / "images/masks.npy", mmap_mode="r")
        index = pd.read_csv(base / "images/index.csv")
        assert images.dtype == np.uint8 and images.shape[1:] == (64, 64)
        assert masks.shape == images.shape and set(np.unique(masks)) <= {0, 1}
        assert len(index) == images.shape[0] and list(index["index"]) == list(range(len(index)))
        # masks are non-empty exactly for positive images
        has_mask = masks.reshape(len(masks), -1).max(axis=1) > 0
        assert np.array_equal(has_mask, index["label"].to_numpy() == 1)
        split = (base / "splits/split.csv").read_text().splitlines()
        assert split[0] == ",Image_ID,Split"
        assert len(pd.read_csv(base / "splits/sample.csv")) == 3
        assert (test_run / "results/logs/convert" / f"{ds}.log").read_text().count("images/s")
    boxes = pd.read_csv(test_run / "results/pneumonia/images/boxes.csv")
    assert len(boxes) > 0 and (boxes["x1"] >= boxes["x0"]).all()


def test_second_run_does_nothing(test_run):
    proc = run_snakemake(test_run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_rerun_from_scratch_is_byte_identical(test_run, tmp_path):
    """Conversion twice gives identical bytes; training twice gives identical predictions."""
    shutil.copytree(test_run / "results/synthetic", tmp_path / "results/synthetic")
    run_snakemake(
        tmp_path,
        "results/pneumonia/images/images.npy",
        "results/pneumothorax/models/tiny_r1/test_predictions.csv",
    )
    for ds in ("pneumothorax", "pneumonia"):
        for name in ("images.npy", "masks.npy", "index.csv", "boxes.csv"):
            a = test_run / "results" / ds / "images" / name
            b = tmp_path / "results" / ds / "images" / name
            assert digest(a) == digest(b), f"{ds}/{name} differs between two conversions"
    predictions = "results/pneumothorax/models/tiny_r1/test_predictions.csv"
    assert digest(test_run / predictions) == digest(tmp_path / predictions)


def test_config_typo_stops_with_the_key(tmp_path):
    proc = run_snakemake(tmp_path, "-n", "--config", "sead=3", check=False)
    assert proc.returncode != 0
    assert "unknown config key sead" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "setting, message",
    [
        ("localize={'methods': ['XRAI']}", "config key localize.methods: XRAI not in"),
        ("localize={'models': ['nope_r1']}", "config key localize.models: nope_r1"),
        ("localize={'evaluate_on': 'everything'}", "localize"),
    ],
)
def test_protocol_settings_are_checked(tmp_path, setting, message):
    """A protocol method the run does not compute, an unknown model or slice stop the run."""
    proc = run_snakemake(
        tmp_path,
        "-n",
        "--config",
        "saliency={'methods': ['GRAD', 'GCAM']}",
        setting,
        check=False,
    )
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_paper_config_builds_its_dag(tmp_path, monkeypatch):
    """configs/paper.yaml on real layouts: with Keras' ImageNet files in its cache the dry run
    plans the paper's 11-step cascade (logits, mixed10 ... mixed1) and its tables; without
    them it stops at once, naming the file to place and where Keras publishes it."""
    from saliency_audit.models.registry import ARCHITECTURES

    write_layout_stubs(tmp_path)
    keras_home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    proc = run_snakemake(tmp_path, "-n", configfile="configs/paper.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    missing = keras_home / "models" / ARCHITECTURES["inceptionv3"].imagenet_file
    assert str(missing) in out and ARCHITECTURES["inceptionv3"].imagenet_url in out
    write_layout_stubs(tmp_path, keras_home=keras_home)
    proc = run_snakemake(tmp_path, "-n", configfile="configs/paper.yaml", quiet=False)
    out = proc.stdout + proc.stderr
    assert "synthesize" not in out
    for rule in ("convert", "split", "sample", "qc_figure", "stats", "methods_table", "localize"):
        assert rule in out
    steps = sorted(set(re.findall(r"randomization/inceptionv3_r1/(cascade_\w+)/GRAD.npy", out)))
    expected = ["logits", *(f"mixed{k}" for k in range(10, 0, -1))]
    assert steps == sorted(f"cascade_{b}" for b in expected)
    assert "independent_" not in out
    assert job_counts(proc)["randomize"] == 2 * 11 * 8
    assert "stats/comparisons.md" in out and "stats/table1.md" in out


@pytest.mark.parametrize("fmt", ["chexlocalize", "nih", "vindr", "folder"])
def test_paper_config_plans_on_each_format(tmp_path, monkeypatch, fmt):
    """The paper's DAG on one dataset of each further format (stub files in its real layout):
    every stage is planned from the format's label files (benchmarks/dag.py times it)."""
    config = paper_config_for_format(fmt, tmp_path)
    keras_home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    write_layout_stubs(tmp_path, config=config, keras_home=keras_home)
    proc = run_snakemake(tmp_path, "-n", configfile=str(config), quiet=False)
    out = proc.stdout + proc.stderr
    assert "synthesize" not in out
    counts = job_counts(proc)
    assert counts["convert"] == 1 and counts["randomize"] == 11 * 8  # one dataset
    for rule in ("split", "sample", "qc_figure", "stats", "methods_table", "localize", "summary"):
        assert counts[rule] >= 1, rule


def test_bad_dataset_fails_alone_and_keeps_the_rest(tmp_path):
    """A CSV row naming a missing image stops that dataset with the row named; the other
    dataset completes, and the failed job leaves no output behind."""
    root = tmp_path / "bad"
    write_siim(root, n_images=12, positive_rate=0.5, size=128, seed=1)
    with open(root / "train-rle.csv", "a") as fh:
        fh.write("1.2.3.does.not.exist, -1\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        "image_size: 32\nsample: {n: 1}\nsplit: {fractions: {train: 0.5, val: 0.25, test: 0.25}}\n"
        "datasets:\n"
        f"  bad: {{format: siim, task: segmentation, root: {root}}}\n"
        "  good: {format: rsna, task: detection, synthetic: {n_images: 20, positive_rate: 0.5,"
        " size: 96}}\n"
    )
    targets = [f"results/{ds}/{t}" for ds in ("bad", "good") for t in DATA_TARGETS]
    proc = run_snakemake(tmp_path, "--keep-going", *targets, configfile=config, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/convert/bad.log").read_text()
    assert "train-rle.csv, row" in log and "1.2.3.does.not.exist" in log
    assert not list((tmp_path / "results/bad").rglob("*.npy"))
    for target in DATA_TARGETS:
        assert (tmp_path / "results/good" / target).is_file(), target


def test_models_and_baselines(test_run):
    for ds, kind in (("pneumothorax", "unet"), ("pneumonia", "retinanet")):
        base = test_run / "results" / ds
        table = pd.read_csv(base / "models/classifiers.csv")
        assert list(table["model"]) == ["tiny_r1", "tiny_r2", "other_r1"]
        assert table["auroc"].between(0, 1).all()
        assert (table["ci_low"] <= table["auroc"]).all() and (
            table["auroc"] <= table["ci_high"]
        ).all()
        for model in table["model"]:
            assert (base / "models" / model / "learning_curve.png").is_file()
            history = pd.read_csv(base / "models" / model / "history.csv")
            assert len(history) >= 1 and {"epoch", "loss", "val_loss"} <= set(history.columns)
        split = pd.read_csv(base / "splits/split.csv")
        n_test = int((split["Split"] == "test").sum())
        for r in (1, 2):
            maps = np.load(base / f"baselines/{kind}_r{r}/maps.npy")
            assert maps.dtype == np.float16 and maps.shape == (n_test, 64, 64)
            assert np.nanmin(maps) >= 0 and np.nanmax(maps) <= 1
        log = (test_run / f"results/logs/train_classifier/{ds}/tiny_r1.log").read_text()
        assert "epoch 1/2" in log and "images/s" in log


def byo_config(tmp_path, path):
    cfg = (ROOT / "configs/test.yaml").read_text()
    cfg = cfg.replace(
        "    tiny: {arch: tiny, replicates: 2}\n    other: {arch: tiny, replicates: 1}\n",
        f"    mine: {{path: '{path}'}}\n",
    )
    out = tmp_path / "byo.yaml"
    out.write_text(cfg)
    return out


def test_bring_your_own_model_is_used_like_a_trained_one(test_run, tmp_path):
    own = test_run / "results/{dataset}/models/tiny_r1/model.keras"
    config = byo_config(tmp_path, own)
    target = "results/pneumothorax/models/mine/test_predictions.csv"
    run_snakemake(test_run, target, configfile=config)
    mine = pd.read_csv(test_run / target)
    trained = pd.read_csv(test_run / "results/pneumothorax/models/tiny_r1/test_predictions.csv")
    pd.testing.assert_frame_equal(mine, trained)


def test_bring_your_own_non_classifier_is_refused(test_run, tmp_path):
    unet = test_run / "results/pneumothorax/baselines/unet_r1/model.keras"
    config = byo_config(tmp_path, unet)
    target = "results/pneumothorax/models/mine/model.keras"
    proc = run_snakemake(test_run, target, configfile=config, check=False)
    assert proc.returncode != 0
    log = (test_run / "results/logs/import_classifier/pneumothorax/mine.log").read_text()
    assert str(unet) in log and "ERROR" in log
    assert not (test_run / target).exists()


def test_protocol_setting_change_reruns_only_the_evaluation(test_run):
    """A new bootstrap count of the cheXlocalize protocol reruns its evaluation and the
    summary, not the saliency jobs that made its maps."""
    proc = run_snakemake(test_run, "-n", "--config", "localize={'n_boot': 300}")
    assert job_counts(proc) == {"localize": 2, "summary": 1, "all": 1}


def test_report_holds_the_figures(test_run):
    report = test_run / "report.html"
    run_snakemake(test_run, "--report", str(report))
    html = report.read_text()
    assert "qc.png" in html and "learning_curve.png" in html and "classifiers.csv" in html


METHODS = ["GRAD", "SG", "IG", "SIG", "GCAM", "XRAI", "GBP", "GGCAM"]


def test_saliency_maps_cover_every_model_and_method(test_run):
    import json

    for ds in ("pneumothorax", "pneumonia"):
        base = test_run / "results" / ds
        positives = pd.read_csv(base / "splits/positives.csv", dtype={"image_id": str})
        sample = pd.read_csv(base / "splits/sample.csv", dtype={"image_id": str})
        assert positives["sampled"].sum() == len(sample) == 3
        for model in ("tiny_r1", "tiny_r2", "other_r1"):
            for method in METHODS:
                maps = np.load(base / f"saliency/{model}/{method}.npy", mmap_mode="r")
                assert maps.dtype == np.float16 and maps.shape == (len(positives), 64, 64)
                assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
                peaks = maps.reshape(len(maps), -1).max(axis=1)
                if method in ("GCAM", "GGCAM"):  # ReLU(weighted sum) may be 0 everywhere
                    assert peaks.max() == 1 and set(np.unique(peaks)) <= {0, 1}
                else:
                    assert peaks.min() > 0  # not blank
                meta = json.loads((base / f"saliency/{model}/{method}.json").read_text())
                assert meta["image_ids"] == positives["image_id"].tolist()
                assert "99th percentile" in meta["recipe"]
            assert (base / f"figures/saliency_{model}.png").stat().st_size > 10_000
        # same noise seed for every model: SG of two replicates differs only by the weights
        sg = [np.load(base / f"saliency/{m}/SG.npy") for m in ("tiny_r1", "tiny_r2")]
        assert not np.array_equal(sg[0], sg[1])
        steps = sorted(p.name for p in (base / "randomization/tiny_r1").iterdir())
        assert len(steps) == 8 and "cascade_stem" in steps and "independent_block1" in steps
        for step in steps:
            maps = np.load(base / f"randomization/tiny_r1/{step}/GCAM.npy")
            assert maps.shape == (3, 64, 64)
        log = (test_run / f"results/logs/saliency/{ds}/tiny_r1/all_methods.log").read_text()
        assert "maps/s" in log and re.search(r"XRAI: \d+ maps in [0-9.]+ s", log)


def test_metrics_are_tidy_and_complete(test_run):
    for ds in ("pneumothorax", "pneumonia"):
        base = test_run / "results" / ds / "metrics"
        gcam = pd.read_csv(base / "GCAM.csv", dtype={"image_id": str})
        assert list(gcam.columns) == [
            "dataset",
            "model",
            "method",
            "step",
            "image_id",
            "metric",
            "value",
            "commit",  # provenance of every row
            "config_hash",
        ]
        assert set(gcam["method"]) == {"GCAM"} and set(gcam["dataset"]) == {ds}
        metrics = set(gcam.loc[gcam["step"] == "trained", "metric"])
        assert {"auprc", "auprc_trapz", "auroc", "iou_otsu", "hit", "ssim"} <= metrics
        assert {"repeatability", "reproducibility", "tiny_r1"} <= set(gcam["model"])
        assert (gcam.loc[gcam["step"] == "random_pairs", "image_id"].str.count(r"\|") == 1).all()
        util = gcam[(gcam["metric"] == "auprc") & (gcam["step"] == "trained")]
        assert util["value"].between(0, 1).all()
        base_csv = pd.read_csv(base / "baselines.csv")
        assert {"AVG"} < set(base_csv["method"])
        seg = (base / "GCAM_otsu_segmentations.json").read_text()
        assert '"counts"' in seg


def test_stats_tables_figures_and_summary(test_run):
    for ds in ("pneumothorax", "pneumonia"):
        stats = test_run / "results" / ds / "stats"
        verdicts = pd.read_csv(stats / "verdicts.csv")
        trust = verdicts[
            ~verdicts["part"].isin(["repeatability_vs_reproducibility", "architectures"])
        ]
        assert set(trust["verdict"]) <= {"pass", "did not pass", "uncertain", "not tested"}
        assert set(verdicts["verdict"]) - set(trust["verdict"]) <= {
            "higher",
            "lower",
            "no significant difference",
        }
        assert {
            "utility_low",
            "utility_high",
            "randomization",
            "trained_vs_random",
            "repeatability_low",
            "reproducibility_low",
            "repeatability_vs_reproducibility",
            "architectures",
        } <= set(verdicts["criterion"])
        assert set(verdicts["target"]) >= set(METHODS)
        for t in ("table1", "table2", "table3", "table4", "comparisons"):
            md = (stats / f"{t}.md").read_text()
            assert md.startswith("## ") and "| GCAM |" in md, t
        assert "Utility vs AVG (AUROC)" in (stats / "table2.md").read_text()
        table3 = (stats / "table3.md").read_text()
        assert "Utility, trained vs fully randomized (cascade_stem)" in table3
        assert "Utility vs AVG (AUPRC)" in table3
        assert "| SG | SG=" not in (stats / "table1.md").read_text()
        assert "nsamples=4" in (stats / "table1.md").read_text()
        raw = np.load(test_run / "results" / ds / "saliency/tiny_r1/GCAM_raw.npy")
        maps = np.load(test_run / "results" / ds / "saliency/tiny_r1/GCAM.npy")
        assert raw.shape == maps.shape and raw.dtype == np.float16 and np.abs(raw).max() <= 1
        by_model = pd.read_csv(stats / "utility_by_model.csv")
        assert set(by_model["classifier"]) == {"tiny_r1", "tiny_r2", "other_r1"}
        assert set(by_model["target"]) == set(METHODS)
        assert "| other_r1: AUPRC vs AVG |" in (stats / "utility_by_model.md").read_text()
        for fig in (
            "figure2_utility",
            "figure3_randomization",
            "figure3_panel",
            "figure4_agreement",
            "overlays",
        ):
            assert (test_run / "results" / ds / "figures" / f"{fig}.png").stat().st_size > 10_000
    summary = (test_run / "results/report/summary.md").read_text()
    assert "## pneumothorax" in summary and "## pneumonia" in summary
    head = summary.split("## How to read this")[0]
    assert "SSIM data range: 1" in head and "trained from scratch" in head
    prov = json.loads((test_run / "first_run_provenance.json").read_text())
    assert prov["status"] == "completed" and prov["finished"] and prov["packages"]
    history = sorted((test_run / "results/logs/provenance").glob("*.json"))
    assert json.loads(history[0].read_text())["started"] == prov["started"]
    commit = provenance.short(prov["git"]["commit"], prov["git"]["dirty"])
    assert f"commit {commit}, config hash {prov['config_hash']}" in head
    gcam = pd.read_csv(test_run / "results/pneumonia/metrics/GCAM.csv")
    assert set(gcam["commit"]) == {commit} and set(gcam["config_hash"]) == {prov["config_hash"]}
    side = json.loads((test_run / "results/pneumonia/saliency/tiny_r1/SG.json").read_text())
    assert side["commit"] == commit and side["noise"] == "independent"
    assert summary.count("### Further contrasts") == 2
    assert "How to read this" in summary and "../pneumonia/figures/figure2_utility.png" in summary
    assert summary.count("### Utility of every classifier's maps") == 2
    assert summary.count("### Localisation (cheXlocalize protocol)") == 2
    assert "tiny_ensemble" in summary
    assert "| retinanet_r1 | RETINANET |" in summary and "| unet_r1 | UNET |" in summary
    assert "localisation against pathology characteristics" in summary


def per_method_config(tmp_path, sg_samples):
    cfg = (ROOT / "configs/test.yaml").read_text().split("\nsaliency:")[0]
    cfg = cfg.replace(
        "  pneumonia:\n    format: rsna\n    task: detection\n"
        "    synthetic: {n_images: 40, positive_rate: 0.5, size: 128}\n",
        "",
    )
    cfg += (
        "\nsaliency: {jobs: per_method, methods: [GRAD, SG], threads: 1, batch_size: 8,"
        f" params: {{SG: {{nsamples: {sg_samples}}}}}}}\n"
        "randomization: {jobs: per_method, blocks: [logits, stem], independent: false}\n"
        "localize: {methods: [SG], ensembles: false}\n"
    )
    path = tmp_path / f"per_method_{sg_samples}.yaml"
    path.write_text(cfg)
    return path


def test_one_method_change_reruns_only_that_method(test_run, tmp_path):
    """Per-(model, method) jobs: a changed SG parameter reruns SG's saliency, randomization
    and metric jobs and the stats/figures/summary, nothing of GRAD; a deleted figure rebuilds
    only its job; a second run does nothing."""
    for sub in (
        "synthetic",
        "pneumothorax/images",
        "pneumothorax/splits",
        "pneumothorax/models",
        "pneumothorax/baselines",
    ):
        shutil.copytree(test_run / "results" / sub, tmp_path / "results" / sub)
    first = per_method_config(tmp_path, 3)
    run_snakemake(tmp_path, configfile=first)
    assert "Nothing to be done" in run_snakemake(tmp_path, "-n", configfile=first).stdout
    changed = per_method_config(tmp_path, 5)
    counts = job_counts(run_snakemake(tmp_path, "-n", configfile=changed))
    assert counts == {
        "saliency": 3,
        "randomize": 2,
        "method_metrics": 1,
        "stats": 1,
        "figures": 1,
        "saliency_panel": 3,
        "methods_table": 1,  # Table 1 reads SG's sidecar: its parameters as run
        "localize_maps": 3,  # the cheXlocalize protocol evaluates SG here
        "localize": 1,
        "summary": 1,
        "all": 1,
    }
    (tmp_path / "results/pneumothorax/figures/figure4_agreement.png").unlink()
    counts = job_counts(run_snakemake(tmp_path, "-n", configfile=first))
    assert counts == {"figures": 1, "summary": 1, "all": 1}


def test_one_target_builds_only_its_ancestors(tmp_path):
    proc = run_snakemake(tmp_path, "-n", "results/pneumonia/splits/sample.csv")
    assert job_counts(proc) == {"synthesize": 1, "convert": 1, "split": 1, "sample": 1}


def test_randomization_cut_points_per_architecture(tmp_path):
    """The default config randomizes DenseNet-121 at its own block names; a block of another
    architecture in its list stops the dry run naming the key, the block and the architecture."""
    counts = job_counts(run_snakemake(tmp_path, "-n", configfile="config.yaml"))
    assert counts["randomize_densenet121_r1"] == 2 and "randomize_inceptionv3_r1" not in counts
    target = "results/pneumonia/randomization/densenet121_r1/cascade_dense_block3/GCAM.npy"
    counts = job_counts(run_snakemake(tmp_path, "-n", target, configfile="config.yaml"))
    assert counts["randomize_densenet121_r1"] == 1 and "stats" not in counts
    bad = 'randomization={"blocks": {"densenet121": ["mixed5"]}}'
    proc = run_snakemake(tmp_path, "-n", "--config", bad, configfile="config.yaml", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "randomization.blocks" in text and "'mixed5'" in text and "densenet121" in text


def test_image_size_retinanet_cannot_take_is_refused(tmp_path):
    proc = run_snakemake(tmp_path, "-n", "--config", "image_size=72", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config key image_size: 72 is not a multiple of 32" in out and "'pneumonia'" in out


def test_replicate_seeds_rerun_the_audit_and_count_agreeing_verdicts(test_run, tmp_path):
    """stats.replicate_seeds: 1 reruns the audit with other training seeds under
    results/replicas/1 (its own provenance), then says per cell how many seeds agree."""
    cfg = (ROOT / "configs/test.yaml").read_text()
    cfg = cfg.replace(
        "  pneumonia:\n    format: rsna\n    task: detection\n"
        "    synthetic: {n_images: 40, positive_rate: 0.5, size: 128}\n",
        "",
    )
    cfg += "\nstats: {replicate_seeds: 1}\n"
    path = tmp_path / "replicas.yaml"
    path.write_text(cfg)
    shutil.copytree(test_run / "results", tmp_path / "results")
    shutil.rmtree(tmp_path / "results/pneumonia")
    run_snakemake(tmp_path, configfile=path)
    replica = tmp_path / "results/replicas/1"
    assert json.loads((replica / "provenance.json").read_text())["status"] == "completed"
    main = tmp_path / "results/pneumothorax/models/tiny_r1/test_predictions.csv"
    other = replica / "pneumothorax/models/tiny_r1/test_predictions.csv"
    assert main.read_bytes() != other.read_bytes()  # another training seed
    assert (replica / "pneumothorax/images/images.npy").read_bytes() == (
        tmp_path / "results/pneumothorax/images/images.npy"
    ).read_bytes()  # the same data
    stability = pd.read_csv(tmp_path / "results/pneumothorax/stats/verdict_stability.csv")
    assert (stability["n"] == 1).all() and stability["agree"].isin([0, 1]).all()
    summary = (tmp_path / "results/report/summary.md").read_text()
    assert "/1 seeds" in summary and "classifiers" in summary
