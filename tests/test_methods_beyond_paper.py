"""The methods beyond the paper (Blur IG, Guided IG, Grad-CAM++, Score-CAM, occlusion): known
answers on linear and one-channel models, batched == per-image reference, registry and config."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from saliency.core.blur_ig import gaussian_blur  # noqa: E402
from test_saliency import conv_model, images, linear_model  # noqa: E402

from saliency_audit.errors import InputError  # noqa: E402
from saliency_audit.preprocess import to_model_input  # noqa: E402
from saliency_audit.saliency import (  # noqa: E402
    SaliencyEngine,
    get_method,
    method_names,
    paper_method_names,
)

NEW = ["BLURIG", "GUIDEDIG", "GCAMPP", "SCORECAM", "OCC"]
SIZE = 12


def engine(model, method, batch=8, **kw):
    return SaliencyEngine(model, method, batch_size=batch, gradcam_layer="lastconv", **kw)


def test_registry_lists_the_new_methods_after_the_papers_and_the_default_keeps_eight():
    from saliency_audit import config

    assert paper_method_names() == ["GRAD", "SG", "IG", "SIG", "GCAM", "XRAI", "GBP", "GGCAM"]
    assert method_names() == paper_method_names() + NEW
    data = {"d": {"format": "siim", "task": "segmentation", "synthetic": {"n_images": 10}}}
    cfg = config.validate({"datasets": data})
    assert cfg["saliency"]["methods"] == paper_method_names()
    cfg = config.validate({"datasets": data, "saliency": {"methods": ["GRAD", "OCC"]}})
    assert cfg["saliency"]["methods"] == ["GRAD", "OCC"]


def test_occlusion_of_a_linear_model_is_weight_times_input_minus_baseline():
    """One-pixel patches: the logit drop at each pixel is sum_c w_c (x_c - b); 2x2 patches with
    stride 2 (disjoint) give each pixel its patch's total drop."""
    model, w, _ = linear_model(SIZE)
    x = to_model_input(images(2, SIZE))
    single = engine(model, get_method("OCC", patch=1, stride=1)).raw(x, [0, 1])[..., 0]
    expected = (w[None] * (x + 1.0)).sum(-1)
    np.testing.assert_allclose(single, expected, rtol=1e-4, atol=1e-4)
    blocks = engine(model, get_method("OCC", patch=2, stride=2)).raw(x, [0, 1])[..., 0]
    pooled = expected.reshape(2, SIZE // 2, 2, SIZE // 2, 2).sum(axis=(2, 4))
    np.testing.assert_allclose(blocks, np.kron(pooled, np.ones((1, 2, 2))), rtol=1e-4, atol=1e-3)
    eng = engine(model, get_method("OCC", patch=5, stride=4))
    assert eng.method.gradient_evaluations == 1 + 3 * 3  # starts 0, 4, and 7 = 12 - 5
    with pytest.raises(InputError, match="larger than the image"):
        engine(model, get_method("OCC", patch=20)).raw(x, [0, 1])


def test_guided_ig_of_a_linear_model_is_weight_times_input_minus_baseline():
    """A constant gradient makes every path give w (x - baseline) (completeness)."""
    model, w, _ = linear_model(SIZE)
    x = to_model_input(images(3, SIZE))
    raw = engine(model, get_method("GUIDEDIG", steps=20)).raw(x, [0, 1, 2])
    np.testing.assert_allclose(raw, w[None] * (x + 1.0), rtol=1e-4, atol=1e-5)


def test_blur_ig_of_a_linear_model_is_weight_times_image_minus_its_blur():
    """A constant gradient: the path integral telescopes to w (x - blur(x, max_sigma)), up to
    the finite difference of the blur in sigma."""
    model, w, _ = linear_model(SIZE)
    x = to_model_input(images(2, SIZE))
    raw = engine(model, get_method("BLURIG", max_sigma=3.0, steps=60)).raw(x, [0, 1])
    for i in range(2):
        expected = w * (x[i] - gaussian_blur(x[i], 3.0))
        assert abs(raw[i].sum() - expected.sum()) < 0.02 * np.abs(expected).sum()
        assert np.corrcoef(raw[i].ravel(), expected.ravel())[0, 1] > 0.99


def one_channel_model(seed: int = 0):
    """conv (one filter) -> ReLU ``lastconv`` -> global average -> Dense(1) with weight 2."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(1, 3, padding="same")(inp)
    x = keras.layers.Activation("relu", name="lastconv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(1)
    model = keras.Model(inp, dense(x))
    dense.set_weights([np.array([[2.0]], np.float32), np.array([0.1], np.float32)])
    return model


def test_one_channel_layer_gives_grad_cam_plus_plus_and_score_cam_the_grad_cam_map():
    """With one channel (and a positive weight on it) every CAM weighting is a positive
    constant, so Grad-CAM, Grad-CAM++ and Score-CAM all give relu(A), normalised."""
    model = one_channel_model()
    x = to_model_input(images(3, 16, seed=2))
    gcam = engine(model, "GCAM").raw(x, [0, 1, 2])
    assert gcam.max() > 0
    for name in ("GCAMPP", "SCORECAM"):
        np.testing.assert_allclose(engine(model, name).raw(x, [0, 1, 2]), gcam, atol=1e-5)


@pytest.mark.parametrize("name", NEW)
def test_batched_maps_equal_the_per_image_reference(name):
    params = {
        "BLURIG": {"steps": 8, "max_sigma": 4.0},
        "GUIDEDIG": {"steps": 10},
        "OCC": {"patch": 4, "stride": 3},
    }.get(name, {})
    model = conv_model(16, seed=1)
    eng = engine(model, get_method(name, **params), batch=8)
    x = to_model_input(images(3, 16, seed=4))
    eng.prepare(3)
    raw = eng.raw(x, [5, 6, 7])
    assert raw.shape[:3] == (3, 16, 16) and np.abs(raw).max() > 0
    for i in range(3):
        ref = eng.method.reference(x[i], [5, 6, 7][i])
        scale = max(float(np.abs(ref).max()), 1e-12)
        # Guided IG picks the features with the smallest |gradient| at each step: round-off
        # of another batch size can swap a tie, hence its looser tolerance
        tol = 5e-3 if name == "GUIDEDIG" else 1e-4
        assert float(np.abs(raw[i] - ref).max()) / scale < tol, name
    assert eng.method.describe()["recipe"]


def test_workflow_plans_maps_metrics_and_the_protocol_of_the_new_methods(tmp_path):
    from conftest import run_snakemake

    methods = "[GRAD, BLURIG, GUIDEDIG, GCAMPP, SCORECAM, OCC]"
    proc = run_snakemake(
        tmp_path,
        "-n",
        "--config",
        f"saliency={{methods: {methods}}}",
        "localize={methods: [GCAMPP, SCORECAM]}",
        quiet=False,
    )
    plan = proc.stdout + proc.stderr
    for name in NEW:
        assert f"saliency/tiny_r1/{name}.npy" in plan and f"metrics/{name}.csv" in plan, name
    assert "localize/maps/tiny_r1/SCORECAM.npy" in plan
