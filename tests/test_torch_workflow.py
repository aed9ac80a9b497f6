"""A PyTorch classifier audited end to end: configs/test.yaml plus one classifier line (and the
randomization line that names it), on a copy of the session's test run, for one dataset (the
other's jobs are the same rules).

The tiny CNN (``saliency_audit.models.torch_examples``) is trained here on each dataset's
training split of the synthetic data, saved as a state dict, and given to the workflow with
its factory; the run imports it, evaluates it, makes its maps with every method, randomizes it
block by block, and the metrics, statistics and summary take it like any Keras classifier.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_snakemake

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

DATASETS = ("pneumothorax",)
TARGETS = [
    "results/pneumothorax/stats/verdicts.csv",
    "results/pneumothorax/stats/utility_by_model.csv",
    "results/pneumothorax/models/classifiers.csv",
    "results/pneumothorax/localize/summary.csv",
]
BLOCKS = ["head", "features.6", "features.3", "features.0"]


def torch_line(path) -> str:
    spec = (
        "{factory: 'saliency_audit.models.torch_examples:small_cnn', channels: 1, mean: 0.5, "
        f"std: 0.5, gradcam_layer: features.7, blocks: [{', '.join(BLOCKS)}]}}"
    )
    return f"    torchnet: {{path: '{path}', torch: {spec}}}\n"


@pytest.fixture(scope="module")
def torch_run(test_config_run, tmp_path_factory):
    """The test run copied, a small CNN trained per dataset, the workflow run again with it."""
    from saliency_audit.models.torch_examples import train

    work = tmp_path_factory.mktemp("torch") / "run"
    shutil.copytree(test_config_run.workdir, work, symlinks=True)
    models = {}
    for ds in DATASETS:
        base = work / "results" / ds
        index = pd.read_csv(base / "images/index.csv")
        split = pd.read_csv(base / "splits/split.csv").rename(columns={"Image_ID": "image_id"})
        rows = index.merge(split[["image_id", "Split"]], on="image_id")
        train_rows = rows[rows["Split"] == "train"]
        stack = np.load(base / "images/images.npy")
        model = train(stack[train_rows["index"]], train_rows["label"].to_numpy(), seed=0)
        torch.save(model.state_dict(), work / f"{ds}_small.pth")
        models[ds] = model
    cfg = (ROOT / "configs/test.yaml").read_text()
    anchor = "    other: {arch: tiny, replicates: 1}\n"
    assert anchor in cfg
    cfg = cfg.replace(anchor, anchor + torch_line(work / "{dataset}_small.pth"))
    cfg = cfg.replace(
        "randomization:\n  jobs: per_model\n",
        "randomization:\n  jobs: per_model\n  models: [tiny_r1, torchnet]\n",
    )
    config = work / "torch.yaml"
    config.write_text(cfg)
    run_snakemake(work, *TARGETS, configfile=str(config))
    return work, models


def test_torch_classifier_is_evaluated_with_its_own_logits(torch_run):
    """Test predictions are the trained module's logits on the normalised grey test images."""
    work, models = torch_run
    for ds in DATASETS:
        base = work / "results" / ds
        pred = pd.read_csv(base / "models/torchnet/test_predictions.csv")
        index = pd.read_csv(base / "images/index.csv").set_index("image_id")
        stack = np.load(base / "images/images.npy")
        x = (stack[index.loc[pred["image_id"], "index"].to_numpy()] / 255.0 - 0.5) / 0.5
        with torch.no_grad():
            z = models[ds](torch.as_tensor(x, dtype=torch.float32)[:, None]).reshape(-1)
        np.testing.assert_allclose(pred["logit"].to_numpy(), z.numpy(), rtol=1e-4, atol=1e-5)
        metrics = json.loads((base / "models/torchnet/test_metrics.json").read_text())
        assert metrics["init"] == "imported" and 0.0 <= metrics["auroc"] <= 1.0
        assert (base / "models/torchnet/model.pt").is_file()
        table = pd.read_csv(base / "models/classifiers.csv")
        assert "torchnet" in table.to_string()


def test_torch_classifier_maps_randomization_metrics_and_summary(torch_run):
    from saliency_audit.saliency import paper_method_names as method_names

    work, _ = torch_run
    for ds in DATASETS:
        base = work / "results" / ds
        for m in method_names():
            maps = np.load(base / f"saliency/torchnet/{m}.npy")
            meta = json.loads((base / f"saliency/torchnet/{m}.json").read_text())
            assert maps.shape[1:] == (64, 64) and np.isfinite(maps).all() and maps.max() > 0
            assert meta["backend"] == "torch" and meta["torch_format"] == "factory"
            assert meta["input"]["channels"] == 1 and meta["input"]["mean"] == [0.5]
        steps = sorted(p.name for p in (base / "randomization/torchnet").iterdir())
        assert "cascade_features_0" in steps and "independent_head" in steps
        for m in method_names():
            tidy = pd.read_csv(base / f"metrics/{m}.csv")
            mine = tidy[tidy["model"] == "torchnet"]
            assert {"trained", "cascade_features_0"} <= set(mine["step"].astype(str)), m
            assert mine["value"].notna().any(), m
        utility = pd.read_csv(base / "stats/utility_by_model.csv")
        assert "torchnet" in set(utility["classifier"].astype(str))
        protocol = pd.read_csv(base / "localize/summary.csv")
        assert "torchnet" in set(protocol["model"].astype(str))
