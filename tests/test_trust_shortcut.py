"""The planted-shortcut benchmark: its data, the attribution shares (a model that reads only
the marker puts its gradient mass on the marker) and its verdicts."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import ndimage  # noqa: E402

from saliency_audit.jobs.trust import shortcut_verdicts  # noqa: E402
from saliency_audit.preprocess import to_model_input  # noqa: E402
from saliency_audit.saliency import SaliencyEngine, get_method  # noqa: E402
from saliency_audit.stats import TestOptions  # noqa: E402
from saliency_audit.synth.phantom import add_marker, draw_phantom, marker_envelope  # noqa: E402
from saliency_audit.trust.shortcut import attribution_shares, make_data  # noqa: E402

SIZE = 48


def phantom_data(**settings):
    """The benchmark's data at test size (``settings`` override the defaults)."""
    defaults = dict(n_images=40, positive_rate=0.5, size=96, out_size=SIZE, seed=3)
    defaults.update(lesion="pneumothorax", marker_rate=1.0, test_marker="both")
    defaults.update(fractions={"train": 0.6, "val": 0.1, "test": 0.3})
    return make_data(**{**defaults, **settings})


@pytest.fixture(scope="module")
def data():
    return phantom_data()


def test_markers_sit_on_training_positives_and_on_every_test_image(data):
    idx = data["index"]
    fit = idx["split"] != "test"
    assert (idx.loc[fit, "marker"] == idx.loc[fit, "label"]).all()  # the shortcut
    assert idx.loc[~fit, "marker"].all()  # both classes at test
    for split in ("train", "val", "test"):
        assert set(idx.loc[idx["split"] == split, "label"]) == {0, 1}
    test = idx.loc[~fit, "index"].to_numpy()
    assert np.array_equal(data["images"][test], data["clean"][test])  # same test images
    marked = idx.loc[fit & (idx["marker"] == 1), "index"].to_numpy()
    diff = data["images"][marked].astype(int) - data["clean"][marked].astype(int)
    region = data["marker"][marked] > 0
    assert np.abs(diff).sum() > 0
    # the twins differ inside the marker's box (and a pixel of area-resizing around it) only
    grown = ndimage.binary_dilation(region, np.ones((1, 3, 3), bool))
    assert not np.any(diff[~grown])
    positives = idx["label"] == 1
    assert (
        data["masks"][idx.loc[positives, "index"]].reshape(positives.sum(), -1).max(1) > 0
    ).all()


def test_marker_envelope_holds_every_marker():
    env_x, env_y, env_w, env_h = marker_envelope(256)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        phantom = draw_phantom(rng, 256, None)
        image, (x, y, w, h) = add_marker(phantom.image, rng)
        assert env_x <= x and x + w <= env_x + env_w and env_y <= y and y + h <= env_y + env_h
        outside = np.ones(image.shape, bool)
        outside[y : y + h, x : x + w] = False
        assert np.array_equal(image[outside], phantom.image[outside])


def test_a_model_that_reads_only_the_marker_puts_its_gradient_mass_on_the_marker(data):
    """f(x) = sum of the pixels in the marker's box: the gradient is zero elsewhere, so the
    whole attribution mass of GRAD sits on the marker and none on the lesion (which lies in
    the lungs); a model that reads the lesion only gives the reverse."""
    idx = data["index"]
    rows = idx.loc[(idx["split"] == "test") & (idx["label"] == 1), "index"].to_numpy()
    marker = data["marker"][rows] > 0
    lesion = data["masks"][rows] > 0

    def reader(region):
        weights = np.repeat(region.astype(np.float32)[..., None], 3, axis=-1)
        inp = keras.Input((SIZE, SIZE, 3))
        out = keras.layers.Dense(1, name="w")(keras.layers.Flatten()(inp))
        model = keras.Model(inp, out)
        model.get_layer("w").set_weights([weights.reshape(-1, 1), np.zeros(1, np.float32)])
        return model

    x = to_model_input(data["images"][rows])
    for i in range(3):
        one = x[i : i + 1]
        shortcut = SaliencyEngine(reader(marker[i]), get_method("GRAD"), batch_size=2)
        grad = shortcut.raw(one, [0])[..., 0]
        shares = attribution_shares(grad, lesion[i : i + 1], marker[i : i + 1])
        assert shares["marker_share"][0] == pytest.approx(1.0)
        assert shares["lesion_share"][0] == pytest.approx(0.0)
        honest = SaliencyEngine(reader(lesion[i] & ~marker[i]), get_method("GRAD"), batch_size=2)
        grad = honest.raw(one, [0])[..., 0]
        shares = attribution_shares(grad, lesion[i : i + 1], marker[i : i + 1])
        assert shares["marker_share"][0] == pytest.approx(0.0)
        assert shares["lesion_share"][0] == pytest.approx(1.0)


def test_shares_of_known_maps():
    masks = np.zeros((2, 4, 4), bool)
    masks[:, :2, :2] = True
    marker = np.zeros((2, 4, 4), bool)
    marker[:, 3, 3] = True
    maps = np.zeros((2, 4, 4))
    maps[0, 3, 3] = -2.0  # signed attribution: its magnitude counts
    maps[0, 0, 0] = 2.0
    maps[1] = 1.0  # uniform: shares are the regions' areas
    shares = attribution_shares(maps, masks, marker)
    np.testing.assert_allclose(shares["marker_share"], [0.5, 1 / 16])
    np.testing.assert_allclose(shares["lesion_share"], [0.5, 4 / 16])


def test_verdicts_say_which_method_exposes_the_shortcut():
    rng = np.random.default_rng(0)
    rows = []
    for method, gap in (("GRAD", 0.4), ("GCAM", 0.0)):
        for i in range(20):
            base = rng.uniform(0.0, 0.1)
            for model, marker in (("shortcut", base + gap), ("clean", base)):
                for metric, value in (
                    ("marker_share", marker + rng.normal(0, 0.01)),
                    ("lesion_share", 0.3 + rng.normal(0, 0.01)),
                    ("auprc", 0.5 + rng.normal(0, 0.01)),
                ):
                    rows.append(("shortcut", model, method, "trained", f"i{i}", metric, value))
    scores = pd.DataFrame(
        rows, columns=["dataset", "model", "method", "step", "image_id", "metric", "value"]
    )
    v = shortcut_verdicts(scores, TestOptions())
    exposes = v[v["criterion"] == "exposes_shortcut"].set_index("target")["verdict"]
    assert exposes["GRAD"] == "pass" and exposes["GCAM"] == "uncertain"
    assert set(v["criterion"]) == {"exposes_shortcut", "lesion_share_drop", "utility_drop"}


def test_without_the_marker_at_test_its_empty_box_is_scored():
    """test_marker: neither: no test image carries the marker; the marker region is the box
    that would hold it (the envelope), the same for every test image; the twins are equal."""
    data = phantom_data(n_images=30, lesion="pneumonia", marker_rate=0.5, test_marker="neither")
    idx = data["index"]
    test = idx.loc[idx["split"] == "test", "index"].to_numpy()
    assert not idx.loc[idx["split"] == "test", "marker"].any()
    fit_pos = idx[(idx["split"] != "test") & (idx["label"] == 1)]
    assert fit_pos["marker"].sum() == int(np.floor(len(fit_pos) * 0.5 + 0.5))  # marker_rate
    assert np.array_equal(data["images"][test], data["clean"][test])
    boxes = data["marker"][test] > 0
    assert boxes.any(axis=(1, 2)).all() and (boxes == boxes[0]).all()
    positives = idx.loc[(idx["split"] == "test") & (idx["label"] == 1), "index"]
    assert (data["masks"][positives].reshape(len(positives), -1).max(1) > 0).all()  # boxes
