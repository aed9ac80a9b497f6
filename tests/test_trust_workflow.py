"""The trust tests beyond the paper end to end: configs/test.yaml plus its ``trust:`` section,
on a copy of the session's test run, so that only the new jobs run (faithfulness, the permuted-
label twin and its maps, the planted-shortcut benchmark) and the statistics and summary that
read them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, job_counts, run_snakemake

from saliency_audit.saliency import paper_method_names
from saliency_audit.vocabulary import PERMUTED_LABELS, RANDOM_ORDER

TRUST = """
trust:
  faithfulness: {enabled: true, steps: 4}
  data_randomization: {enabled: true}
  shortcut: {enabled: true, n_images: 40, size: 128, training: {epochs: 4}}
"""
METHODS = paper_method_names()


@pytest.fixture(scope="module")
def trust_run(test_config_run, tmp_path_factory):
    work = tmp_path_factory.mktemp("trust") / "run"
    shutil.copytree(test_config_run.workdir, work, symlinks=True)
    config = work / "trust.yaml"
    config.write_text((ROOT / "configs/test.yaml").read_text() + TRUST)
    dry = run_snakemake(work, "-n", configfile=str(config))
    run_snakemake(work, configfile=str(config))
    return work, job_counts(dry)


def test_only_the_new_jobs_and_their_readers_run(trust_run):
    _, counts = trust_run
    new = {"faithfulness", "train_permuted_classifier", "permuted_label_maps", "shortcut_data"}
    new |= {"train_shortcut_classifier", "shortcut_maps", "shortcut_benchmark"}
    assert new <= set(counts)
    assert counts["faithfulness"] == 2 and counts["train_shortcut_classifier"] == 2
    # the trained classifiers and their maps are reused; the metric jobs read the new step
    for rule in ("train_classifier", "saliency_all_methods", "randomize_tiny_r1", "localize"):
        assert rule not in counts, rule
    assert counts["method_metrics"] == 2 * len(METHODS) and counts["stats"] == 2


def test_faithfulness_rows_curves_and_verdicts(trust_run):
    work, _ = trust_run
    for ds in ("pneumothorax", "pneumonia"):
        base = work / "results" / ds
        rows = pd.read_csv(base / "trust/faithfulness.csv", dtype={"image_id": str})
        positives = pd.read_csv(base / "splits/positives.csv")
        assert set(rows["method"]) == {*METHODS, RANDOM_ORDER}
        assert set(rows["metric"]) == {"deletion_auc", "insertion_auc", "road_auc"}
        assert set(rows["model"]) == {"tiny_r1"}  # the primary model
        per = rows.groupby(["method", "metric"])["image_id"].nunique()
        assert (per == int(positives["sampled"].sum())).all()  # the sample (default)
        assert rows["value"].notna().all()
        curves = pd.read_csv(base / "trust/faithfulness_curves.csv")
        deletion = curves[curves["curve"] == "deletion"]
        assert sorted(deletion["fraction"].unique()) == [0, 0.25, 0.5, 0.75, 1.0]
        road = curves[curves["curve"] == "road"]
        assert road["fraction"].max() == 0.75  # ROAD stops before everything is removed
        # at fraction 0 every order gives the image's own logit
        start = deletion[deletion["fraction"] == 0].groupby("image_id")["logit"].agg(np.ptp)
        assert (start < 1e-5).all()
        verdicts = pd.read_csv(base / "stats/verdicts.csv")
        faithful = verdicts[verdicts["part"] == "faithfulness"]
        assert set(faithful["criterion"]) == {
            "faithfulness_deletion",
            "faithfulness_insertion",
            "faithfulness_road",
        }
        assert set(faithful["target"]) == set(METHODS)
        assert set(faithful["baseline"]) == {RANDOM_ORDER}
        assert (base / "figures/faithfulness.png").stat().st_size > 10_000


def test_data_randomization_twin_maps_metrics_and_verdicts(trust_run):
    work, _ = trust_run
    base = work / "results/pneumothorax"
    twin = base / "trust/permuted_labels/tiny_r1"
    assert (twin / "model.keras").is_file()
    log = (work / "results/logs/train_permuted_classifier/pneumothorax/tiny_r1.log").read_text()
    assert "labels of the" in log and "train images permuted" in log and "val images" in log
    sample = pd.read_csv(base / "splits/positives.csv")
    n_sample = int(sample["sampled"].sum())
    for m in METHODS:
        maps = np.load(base / f"randomization/tiny_r1/{PERMUTED_LABELS}/{m}.npy")
        assert maps.shape[0] == n_sample
        tidy = pd.read_csv(base / f"metrics/{m}.csv")
        step = tidy[(tidy["step"] == PERMUTED_LABELS) & (tidy["metric"] == "ssim")]
        assert len(step) == n_sample
    verdicts = pd.read_csv(base / "stats/verdicts.csv")
    data = verdicts[verdicts["criterion"] == "data_randomization"]
    assert set(data["target"]) == set(METHODS)
    assert set(data["verdict"]) <= {"pass", "did not pass"}  # randomization's rule
    table = (base / "stats/trust.md").read_text()
    assert "Data randomization" in table and "ROAD" in table


def test_shortcut_benchmark_data_scores_verdicts_and_summary(trust_run):
    work, _ = trust_run
    base = work / "results/shortcut"
    index = pd.read_csv(base / "data/index.csv")
    split = pd.read_csv(base / "data/split.csv").rename(columns={"Image_ID": "image_id"})
    index = index.merge(split[["image_id", "Split"]], on="image_id")
    fit = index["Split"] != "test"
    assert (index.loc[fit, "marker"] == index.loc[fit, "label"]).all()
    assert index.loc[~fit, "marker"].all()
    for variant in ("shortcut", "clean"):
        metrics = json.loads((base / f"models/{variant}/test_metrics.json").read_text())
        assert 0 <= metrics["auroc"] <= 1
    scores = pd.read_csv(base / "scores.csv")
    assert set(scores["metric"]) == {"marker_share", "lesion_share", "auprc"}
    assert set(scores["model"]) == {"shortcut", "clean"}
    shares = scores[scores["metric"].str.endswith("share")]["value"].dropna()
    assert ((shares >= 0) & (shares <= 1)).all()
    verdicts = pd.read_csv(base / "verdicts.csv")
    assert set(verdicts["criterion"]) == {"exposes_shortcut", "lesion_share_drop", "utility_drop"}
    assert set(verdicts["target"]) == set(METHODS)
    summary = (work / "results/report/summary.md").read_text()
    assert "## Planted-shortcut benchmark" in summary
    assert "Marker share, shortcut vs clean model" in summary
    for column in ("Data randomization", "Faithfulness, Deletion", "Faithfulness, ROAD"):
        assert column in summary, column
