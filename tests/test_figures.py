"""Each figure function writes a PNG from small constructed data; bad input raises InputError."""

import numpy as np
import pandas as pd
import pytest

from saliency_audit.errors import InputError
from saliency_audit.figures import (
    figure_agreement,
    figure_overlays,
    figure_randomization,
    figure_randomization_panel,
    figure_utility,
)

PNG = b"\x89PNG\r\n\x1a\n"
METHODS = ["GRAD", "SG", "XRAI"]


def rows(dataset, model, method, step, metric, values):
    return [
        dict(
            dataset=dataset,
            model=model,
            method=method,
            step=step,
            image_id=f"img{i}",
            metric=metric,
            value=float(v),
        )
        for i, v in enumerate(values)
    ]


def utility_df(n=12):
    rng = np.random.default_rng(0)
    out = []
    for ds, high in (("pneumothorax", "UNET"), ("pneumonia", "RETINANET")):
        for m in [*METHODS, "AVG", high]:
            model = "inceptionv3_r1" if m in METHODS else m.lower()
            out += rows(ds, model, m, "trained", "auprc", rng.uniform(0, 1, n))
    return pd.DataFrame(out)


def randomization_df(n=10):
    rng = np.random.default_rng(1)
    out = []
    for k, step in enumerate(["logits", "mixed10", "mixed5", "stem"]):
        for m in METHODS:
            out += rows(
                "pneumonia", "inceptionv3_r1", m, step, "ssim", rng.uniform(0, 1 - 0.2 * k, n)
            )
    return pd.DataFrame(out)


def agreement_df(n=10):
    rng = np.random.default_rng(2)
    out = []
    for kind in ("repeatability", "reproducibility"):
        for m in [*METHODS, "UNET"]:
            out += rows("pneumothorax", kind, m, "trained", "ssim", rng.uniform(0, 1, n))
    return pd.DataFrame(out)


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 5000
    assert not list(path.parent.glob(".tmp-*"))  # atomic write left nothing behind


def test_figure_utility(tmp_path):
    path = tmp_path / "fig" / "utility.png"
    figure_utility(utility_df(), path, metric="auprc", model="inceptionv3_r1")
    assert_png(path)
    with pytest.raises(InputError, match="'value'"):
        figure_utility(utility_df().drop(columns="value"), tmp_path / "x.png")
    with pytest.raises(InputError, match="metric == 'auroc'"):
        figure_utility(utility_df(), tmp_path / "x.png", metric="auroc")
    assert not (tmp_path / "x.png").exists()


def test_figure_randomization(tmp_path):
    df = randomization_df()
    path = tmp_path / "rand.png"
    figure_randomization(df, 0.3, path)
    assert_png(path)
    pairs = pd.DataFrame({"method": np.repeat(METHODS, 5), "ssim": np.linspace(0.1, 0.4, 15)})
    figure_randomization(df, pairs, tmp_path / "rand2.png", steps=["logits", "stem"])
    assert_png(tmp_path / "rand2.png")
    with pytest.raises(InputError, match="'step'"):
        figure_randomization(df.drop(columns="step"), 0.3, tmp_path / "x.png")
    with pytest.raises(InputError, match="step mixed0"):
        figure_randomization(df, 0.3, tmp_path / "x.png", steps=["logits", "mixed0"])


def test_figure_randomization_panel(tmp_path):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (16, 16)).astype(np.uint8)
    maps = {
        s: {m: rng.uniform(0, 1, (16, 16)) for m in METHODS}
        for s in ["none", "logits", "mixed10", "stem"]
    }
    del maps["stem"]["SG"]  # a missing map leaves its cell empty
    path = tmp_path / "panel.png"
    figure_randomization_panel(image, maps, path)
    assert_png(path)
    maps["logits"]["GRAD"] = np.zeros((8, 8))
    with pytest.raises(InputError, match="'GRAD' at step 'logits'.*shape"):
        figure_randomization_panel(image, maps, tmp_path / "x.png")
    with pytest.raises(InputError, match="non-empty"):
        figure_randomization_panel(image, {}, tmp_path / "x.png")


def test_figure_agreement(tmp_path):
    path = tmp_path / "agreement.png"
    figure_agreement(agreement_df(), path)
    assert_png(path)
    with pytest.raises(InputError, match="'model'"):
        figure_agreement(agreement_df().drop(columns="model"), tmp_path / "x.png")
    with pytest.raises(InputError, match="model in"):
        figure_agreement(agreement_df().assign(model="r1_vs_r2"), tmp_path / "x.png")


def test_figure_overlays(tmp_path):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 255, (2, 20, 20)).astype(np.uint8)
    maps = {m: rng.uniform(0, 1, (2, 20, 20)) for m in METHODS}
    mask = np.zeros((20, 20), np.uint8)
    mask[5:10, 6:12] = 1
    truths = [mask, [(2, 3, 8, 6), (10, 10, 5, 5)]]  # a mask, then boxes (x, y, w, h)
    path = tmp_path / "overlays.png"
    figure_overlays(images, maps, truths, path, titles=["a", "b"])
    assert_png(path)
    with pytest.raises(InputError, match="'SG' has 1 maps for 2 images"):
        figure_overlays(images, {**maps, "SG": maps["SG"][:1]}, truths, tmp_path / "x.png")
    with pytest.raises(InputError, match="ground truth"):
        figure_overlays(images, maps, [mask, np.zeros((3, 3))], tmp_path / "x.png")
