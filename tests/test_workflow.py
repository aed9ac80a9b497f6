"""The data stages of the workflow end to end on the tiny test config."""

import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_snakemake

from saliency_audit.synth import write_siim

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
def test_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run")
    run_snakemake(workdir)
    return workdir


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


def real_layout(root):
    """Empty files in the real Kaggle layouts are enough for a dry run."""
    siim = root / "data/siim-acr"
    (siim / "dicom-images-train/s/t").mkdir(parents=True)
    (siim / "dicom-images-train/s/t/1.2.3.dcm").touch()
    (siim / "train-rle.csv").write_text("ImageId, EncodedPixels\n1.2.3, -1\n")
    rsna = root / "data/rsna-pneumonia"
    (rsna / "stage_2_train_images").mkdir(parents=True)
    (rsna / "stage_2_train_labels.csv").write_text("patientId,x,y,width,height,Target\n")
    (rsna / "stage_2_detailed_class_info.csv").write_text("patientId,class\n")


def test_paper_config_builds_its_dag(tmp_path):
    real_layout(tmp_path)
    proc = run_snakemake(tmp_path, "-n", configfile="configs/paper.yaml")
    out = proc.stdout + proc.stderr
    assert "synthesize" not in out
    for rule in ("convert", "split", "sample", "qc_figure"):
        assert rule in out


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


def test_report_holds_the_figures(test_run):
    report = test_run / "report.html"
    run_snakemake(test_run, "--report", str(report))
    html = report.read_text()
    assert "qc.png" in html and "learning_curve.png" in html and "classifiers.csv" in html
