"""Saliency engine: closed forms, known answers, batched == per-sample, seeds, streaming."""

from __future__ import annotations

import os
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from saliency.core.visualization import VisualizeImageGrayscale  # noqa: E402

from saliency_audit.errors import InputError  # noqa: E402
from saliency_audit.preprocess import to_model_input  # noqa: E402
from saliency_audit.saliency import (  # noqa: E402
    SaliencyEngine,
    get_method,
    image_seed,
    method_names,
    plan_batches,
    postprocess,
)
from saliency_audit.saliency import base as base_module  # noqa: E402
from saliency_audit.saliency.postprocess import minmax_batch, reduce_raw  # noqa: E402

# ----------------------------------------------------------------------------- models


def linear_model(size: int, seed: int = 0):
    """f(x) = w . x + b, returns (model, w (S, S, 3), b)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(size, size, 3)).astype(np.float32)
    b = np.float32(0.3)
    inp = keras.Input((size, size, 3))
    out = keras.layers.Dense(1, name="linear")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.get_layer("linear").set_weights([w.reshape(-1, 1), np.array([b])])
    return model, w, b


def conv_model(size: int = 16, seed: int = 0, nested: bool = False):
    """Small ReLU CNN with batch norm; ``lastconv`` is the Grad-CAM layer."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu", name="lastconv")(x)
    if nested:
        inner = keras.Model(inp, x, name="backbone")
        inp = keras.Input((size, size, 3))
        x = inner(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(1)(x))


def images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


@pytest.fixture(scope="module")
def cnn():
    return conv_model(16)


# ----------------------------------------------------------------------------- postprocess


def test_postprocess_known_answers():
    m = np.arange(100, dtype=np.float32).reshape(10, 10)
    out = postprocess(m)
    p99 = np.percentile(m, 99)  # 98.01
    assert out.dtype == np.float32 and out.shape == (10, 10)
    np.testing.assert_allclose(out.ravel()[:99], np.arange(99) / p99, rtol=1e-6)
    assert out.ravel()[99] == 1.0  # 99 > 98.01: clipped
    assert out.min() == 0.0
    # channels: |.| summed, so sign does not matter
    m3 = np.stack([m, -m, np.zeros_like(m)], -1)
    np.testing.assert_allclose(postprocess(m3), out, rtol=1e-6)
    # same as the saliency package's VisualizeImageGrayscale on a generic map
    r = np.random.default_rng(1).normal(size=(12, 12, 3))
    np.testing.assert_allclose(postprocess(r), VisualizeImageGrayscale(r), rtol=1e-5, atol=1e-6)
    # constant -> zeros; >99% at the minimum -> scaled by the max instead of NaN
    assert not postprocess(np.full((8, 8, 3), 2.5)).any()
    sparse = np.zeros((20, 20))
    sparse[3, 4] = 5.0
    out = postprocess(sparse)
    assert out[3, 4] == 1.0 and out.sum() == 1.0


# ----------------------------------------------------------------------------- registry


def test_registry_and_params():
    paper = ["GRAD", "SG", "IG", "SIG", "GCAM", "XRAI", "GBP", "GGCAM"]
    assert method_names()[:8] == paper  # then the methods beyond the paper
    sg = get_method("sg", nsamples=5)
    assert sg.name == "SG" and sg.params == {"stdev_spread": 0.15, "nsamples": 5, "magnitude": True}
    assert get_method("IG").params == {"steps": 10, "baseline": -1.0}
    assert get_method("XRAI").params["steps"] == 100  # the package default
    with pytest.raises(InputError, match="GRAD, SG, IG, SIG, GCAM, XRAI, GBP, GGCAM"):
        get_method("LIME")
    with pytest.raises(InputError, match=r"unknown parameter\(s\) samples .*magnitude, nsamples"):
        get_method("SG", samples=3)
    with pytest.raises(InputError, match="nsamples"):
        get_method("SG", nsamples=0)
    with pytest.raises(InputError, match="algorithm"):
        get_method("XRAI", algorithm="slow")


def test_plan_batches_fills_calls():
    assert plan_batches((), 32) == plan_batches((), 32, None)
    assert plan_batches((), 32).batch == 32
    sg = plan_batches((25,), 32, n_images=4)  # one image's 25 samples per call, no padding
    assert (sg.images, sg.groups, sg.batch) == (1, (25,), 25)
    ig = plan_batches((10,), 32, n_images=100)
    assert ig.batch == 30 and ig.batch == ig.images * ig.groups[0]
    assert plan_batches((25, 10), 4).batch <= 4


# ----------------------------------------------------------------------------- closed forms


def test_linear_model_closed_forms():
    size = 8
    model, w, _ = linear_model(size)
    x = to_model_input(images(3, size))
    seeds = [1, 2, 3]
    grad = SaliencyEngine(model, "GRAD", batch_size=4).raw(x, seeds)
    np.testing.assert_allclose(grad, np.broadcast_to(w, x.shape), rtol=1e-6)
    ig = SaliencyEngine(model, "IG", batch_size=4).raw(x, seeds)
    np.testing.assert_allclose(ig, (x - (-1.0)) * w, rtol=1e-5, atol=1e-6)
    sg_sq = SaliencyEngine(model, get_method("SG"), batch_size=16).raw(x, seeds)
    np.testing.assert_allclose(sg_sq, np.broadcast_to(w * w, x.shape), rtol=1e-5)
    sg = SaliencyEngine(model, get_method("SG", magnitude=False), batch_size=16).raw(x, seeds)
    np.testing.assert_allclose(sg, np.broadcast_to(w, x.shape), rtol=1e-5, atol=1e-6)


def test_predicted_class_flips_sign():
    size = 8
    model, w, _ = linear_model(size)
    x = to_model_input(images(4, size))
    logits = model.predict(x, verbose=0)[:, 0]
    eng = SaliencyEngine(model, "GRAD", batch_size=4, positive_class=False)
    grad = eng.raw(x, [0] * 4)
    expected = np.where(logits >= 0, 1.0, -1.0)[:, None, None, None] * w
    np.testing.assert_allclose(grad, expected, rtol=1e-6)
    assert (logits < 0).any()


def one_conv_model(size: int, strides: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    inp = keras.Input((size, size, 3))
    a = keras.layers.Conv2D(4, 1, strides=strides, name="conv")(inp)
    out = keras.layers.Dense(1, name="head")(keras.layers.GlobalAveragePooling2D()(a))
    model = keras.Model(inp, out)
    k, c = rng.normal(size=(1, 1, 3, 4)), rng.normal(size=4)
    v = rng.normal(size=(4, 1))
    model.get_layer("conv").set_weights([k.astype(np.float32), c.astype(np.float32)])
    model.get_layer("head").set_weights([v.astype(np.float32), np.zeros(1, np.float32)])
    return model, k[0, 0], c, v[:, 0]


def test_gradcam_one_conv_layer_known_answer():
    size = 8
    x = to_model_input(images(2, size))
    for strides in (1, 2):
        model, k, c, v = one_conv_model(size, strides)
        eng = SaliencyEngine(model, "GCAM", batch_size=2, gradcam_layer="conv")
        raw = eng.raw(x, [0, 0])
        assert raw.shape == (2, size, size, 1)
        for i in range(2):
            a = x[i, ::strides, ::strides] @ k + c  # conv activations (h, w, 4)
            alpha = v / (a.shape[0] * a.shape[1])  # mean of d logit / dA over positions
            cam = np.maximum(a @ alpha, 0)
            cam = cam / cam.max()
            # 1x1 kernel, stride s, valid: cell k sits on pixel s*k; bilinear in between,
            # edge cells held beyond the last centre (np.interp's rule)
            centres, pixels = strides * np.arange(cam.shape[0]), np.arange(size)
            rows = np.stack([np.interp(pixels, centres, col) for col in cam.T], axis=1)
            expected = np.stack([np.interp(pixels, centres, row) for row in rows])
            np.testing.assert_allclose(raw[i, ..., 0], expected, rtol=1e-4, atol=1e-5)


def relu_net(size: int = 4, seed: int = 3):
    """Flatten -> Dense(relu) -> Dense -> ReLU layer -> Dense(1), weights returned."""
    rng = np.random.default_rng(seed)
    d = size * size * 3
    w1, b1 = rng.normal(size=(d, 6)) / 4, rng.normal(size=6) / 4
    w2, b2 = rng.normal(size=(6, 5)), rng.normal(size=5) / 4
    v = np.array([[1.0], [-1.5], [0.7], [-0.4], [1.2]])
    inp = keras.Input((size, size, 3))
    h = keras.layers.Dense(6, activation="relu", name="d1")(keras.layers.Flatten()(inp))
    h = keras.layers.ReLU(name="r2")(keras.layers.Dense(5, name="d2")(h))
    model = keras.Model(inp, keras.layers.Dense(1, name="out")(h))
    for name, ws in (("d1", (w1, b1)), ("d2", (w2, b2)), ("out", (v, np.zeros(1)))):
        model.get_layer(name).set_weights([a.astype(np.float32) for a in ws])
    return model, (w1, b1, w2, b2, v[:, 0])


def test_guided_backprop_hand_computed():
    size = 4
    model, (w1, b1, w2, b2, v) = relu_net(size)
    x = to_model_input(images(6, size, seed=5))
    gbp = SaliencyEngine(model, "GBP", batch_size=8).raw(x, [0] * 6)
    grad = SaliencyEngine(model, "GRAD", batch_size=8).raw(x, [0] * 6)
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    differs = False
    for i in range(6):
        xi = x[i].reshape(-1).astype(np.float64)
        a1 = xi @ w1 + b1
        a2 = relu(a1) @ w2 + b2
        # guided: pass only positive incoming gradient through each ReLU
        g_a2 = relu(v) * (a2 > 0)
        g_a1 = relu(w2 @ g_a2) * (a1 > 0)
        np.testing.assert_allclose(gbp[i].reshape(-1), w1 @ g_a1, rtol=1e-4, atol=1e-6)
        # plain gradient
        p_a2 = v * (a2 > 0)
        p_a1 = (w2 @ p_a2) * (a1 > 0)
        np.testing.assert_allclose(grad[i].reshape(-1), w1 @ p_a1, rtol=1e-4, atol=1e-6)
        if ((v < 0) & (a2 > 0)).any() or ((w2 @ p_a2 < 0) & (a1 > 0)).any():
            differs = differs or not np.allclose(gbp[i], grad[i], atol=1e-6)
    assert differs


def test_guided_model_keeps_forward_and_needs_relu(cnn):
    x = to_model_input(images(2, 16))
    eng = SaliencyEngine(cnn, "GBP", batch_size=2)
    guided = eng.ctx.keras_model("guided")
    np.testing.assert_allclose(guided.predict(x, verbose=0), cnn.predict(x, verbose=0), rtol=1e-5)
    model, _, _ = linear_model(4)
    with pytest.raises(InputError, match="no ReLU"):
        SaliencyEngine(model, "GBP", batch_size=2)


def test_guided_gradcam_is_product_of_normalised_maps(cnn):
    x = to_model_input(images(3, 16))
    kw = {"batch_size": 4, "gradcam_layer": "lastconv"}
    gg = SaliencyEngine(cnn, "GGCAM", **kw).raw(x, [0] * 3)
    gbp = SaliencyEngine(cnn, "GBP", **kw).raw(x, [0] * 3)
    gc = SaliencyEngine(cnn, "GCAM", **kw).raw(x, [0] * 3)
    for i in range(3):
        np.testing.assert_allclose(gg[i, ..., 0], postprocess(gbp[i]) * postprocess(gc[i]))


def test_guided_gradcam_minmax_scaling_as_the_authors_code(cnn):
    """scaling=minmax: the product of the two normalised maps, min-max scaled, no second
    99th-percentile clip (the authors' code); the default runs the map recipe again."""
    x = to_model_input(images(3, 16))
    kw = {"batch_size": 4, "gradcam_layer": "lastconv"}
    product = SaliencyEngine(cnn, "GGCAM", **kw).raw(x, [0] * 3)
    paper = SaliencyEngine(cnn, get_method("GGCAM", scaling="minmax"), **kw)
    maps = paper.method.display(paper.raw(x, [0] * 3))
    lo = product.min(axis=(1, 2, 3), keepdims=True)[..., 0]
    hi = product.max(axis=(1, 2, 3), keepdims=True)[..., 0]
    np.testing.assert_allclose(maps, (product[..., 0] - lo) / (hi - lo), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(minmax_batch(product), maps)
    default = SaliencyEngine(cnn, "GGCAM", **kw)
    clipped = default.method.display(default.raw(x, [0] * 3))
    assert (clipped == 1.0).sum() > (maps == 1.0).sum()  # the percentile clip ties the top
    assert "min-max" in paper.method.describe()["recipe"]


def test_raw_maps_are_the_signed_channel_sum(tmp_path):
    """The raw stack holds the attribution to the grayscale pixel: the signed sum over the
    three repeated channels (a linear model's gradient: the weights summed over channels),
    divided by its largest |value|, the scale kept."""
    size = 8
    model, w, _ = linear_model(size)
    imgs = images(3, size)
    eng = SaliencyEngine(model, "GRAD", batch_size=4)
    summary = eng.compute_maps(
        imgs, None, tmp_path / "g.npy", seed=0, out_raw=tmp_path / "g_raw.npy"
    )
    raw = np.load(tmp_path / "g_raw.npy").astype(np.float32)
    expected = w.sum(axis=-1)
    scale = np.abs(expected).max()
    for k in range(3):
        np.testing.assert_allclose(raw[k], expected / scale, atol=1e-3)
    np.testing.assert_allclose(summary["raw_scale"], [scale] * 3, rtol=1e-5)
    stored, scales = reduce_raw(np.zeros((1, 4, 4, 3)))
    assert not stored.any() and scales[0] == 0  # an all-zero map stays 0


def test_xrai_tiny_model_per_pixel():
    size = 24
    model = conv_model(size)
    eng = SaliencyEngine(model, get_method("XRAI", steps=4), batch_size=8)
    x = to_model_input(images(1, size))
    raw = eng.raw(x, [0])
    assert raw.shape == (1, size, size, 1) and np.isfinite(raw).all()
    assert len(np.unique(raw)) > 1  # per-pixel region values, not one constant
    np.testing.assert_allclose(raw[0], eng.method.reference(x[0], 0), rtol=1e-4, atol=1e-7)


# ----------------------------------------------------------------------------- batching


@pytest.mark.parametrize(
    "name,params",
    [
        ("GRAD", {}),
        ("SG", {}),
        ("IG", {}),
        ("SIG", {"nsamples": 4, "steps": 3}),
        ("GCAM", {}),
        ("GBP", {}),
        ("GGCAM", {}),
    ],
)
def test_batched_equals_per_sample(cnn, name, params):
    x = to_model_input(images(3, 16, seed=2))
    seeds = [image_seed(7, i) for i in range(3)]
    eng = SaliencyEngine(
        cnn,
        get_method(name, **params),
        batch_size=6,
        gradcam_layer="lastconv",
        positive_class=False,
    )
    batched = eng.raw(x, seeds)
    for i in range(3):
        ref = eng.method.reference(x[i], seeds[i])
        scale = np.abs(ref).max()
        np.testing.assert_allclose(batched[i], ref, rtol=1e-4, atol=1e-5 * scale)


def test_no_retracing_and_seeds(tmp_path, cnn):
    imgs = images(7, 16)
    eng = SaliencyEngine(cnn, get_method("SG", nsamples=5), batch_size=8)
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    eng.compute_maps(imgs, None, a, seed=1, log=lambda s: None)
    traces = dict(eng.ctx.trace_counts)
    assert traces and all(v == 1 for v in traces.values())  # last chunk padded, no retrace
    eng.compute_maps(imgs, None, b, seed=1, log=lambda s: None)
    eng.compute_maps(imgs, None, c, seed=2, log=lambda s: None)
    assert dict(eng.ctx.trace_counts) == traces
    assert a.read_bytes() == b.read_bytes()  # same seed -> same bytes
    assert not np.array_equal(np.load(a), np.load(c))  # other seed -> other noise
    # a map does not depend on which batch the image was in
    alone = eng.maps(imgs, [5], seed=1)
    np.testing.assert_allclose(alone[0], np.load(a)[5].astype(np.float32), atol=2e-3)


def test_compute_maps_streams_float16(tmp_path, cnn, monkeypatch):
    n = 40
    imgs_path = tmp_path / "images.npy"
    np.save(imgs_path, images(n, 16))
    imgs = np.load(imgs_path, mmap_mode="r")
    eng = SaliencyEngine(cnn, "GRAD", batch_size=4)
    seen = []
    real_pp = base_module.postprocess_batch

    def spy(raw):
        seen.append(raw.shape[0])
        return real_pp(raw)

    monkeypatch.setattr(base_module, "postprocess_batch", spy)
    messages = []
    idx = np.arange(n)[::-1]
    out = tmp_path / "maps" / "grad.npy"
    summary = eng.compute_maps(imgs, idx, out, seed=0, log=messages.append)
    maps = np.load(out, mmap_mode="r")
    assert maps.shape == (n, 16, 16) and maps.dtype == np.float16
    assert 0.0 <= float(maps.min()) and float(maps.max()) <= 1.0
    assert max(seen) <= eng.plan.images < n  # never all maps at once
    assert summary["n"] == n and summary["maps_per_s"] > 0
    progress = [m for m in messages if "maps/s" in m]
    assert 8 <= len(progress) <= 11 and progress[-1].startswith("GRAD: 40/40")
    assert sorted(p.name for p in out.parent.iterdir()) == ["grad.npy"]  # no temp leftovers
    np.testing.assert_allclose(  # row k is image idx[k]
        maps[0].astype(np.float32), eng.maps(imgs, [n - 1], seed=0)[0], atol=1e-3
    )


def test_peak_memory_flat_in_n(tmp_path):
    size = 32
    eng = SaliencyEngine(conv_model(size), "GRAD", batch_size=8)

    def peak(n):
        imgs = images(n, size)
        eng.compute_maps(imgs[:8], None, tmp_path / "warm.npy", seed=0, log=lambda s: None)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        eng.compute_maps(imgs, None, tmp_path / f"m{n}.npy", seed=0, log=lambda s: None)
        p = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return p

    small, large = peak(16), peak(320)
    all_maps = 320 * size * size * 4  # float32 bytes of every map at once
    assert large - small < 0.1 * all_maps


def test_input_errors(tmp_path, cnn):
    with pytest.raises(InputError, match="needs gradcam_layer"):
        SaliencyEngine(cnn, "GCAM", batch_size=2)
    with pytest.raises(InputError, match="'nope' is not a layer.*lastconv|lastconv.*nope"):
        SaliencyEngine(cnn, "GCAM", batch_size=2, gradcam_layer="nope")
    inp = keras.Input((8, 8, 3))
    two = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(inp)))
    with pytest.raises(InputError, match="one logit"):
        SaliencyEngine(two, "GRAD", batch_size=2)
    eng = SaliencyEngine(cnn, "GRAD", batch_size=2)
    with pytest.raises(InputError, match="model takes 16x16"):
        eng.compute_maps(images(2, 8), None, tmp_path / "x.npy", seed=0)
    with pytest.raises(InputError, match="indices"):
        eng.compute_maps(images(2, 16), [0, 5], tmp_path / "x.npy", seed=0)
    with pytest.raises(InputError, match="model file not found"):
        SaliencyEngine(tmp_path / "missing.keras", "GRAD")
    assert not (tmp_path / "x.npy").exists()


def test_nested_backbone_and_saved_model(tmp_path):
    flat, nested = conv_model(16, seed=4), conv_model(16, seed=4, nested=True)
    x = to_model_input(images(2, 16))
    nested_maps = {}
    for name in ("GCAM", "GBP"):
        a = SaliencyEngine(flat, name, batch_size=2, gradcam_layer="lastconv").raw(x, [0, 0])
        b = SaliencyEngine(nested, name, batch_size=2, gradcam_layer="lastconv").raw(x, [0, 0])
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        nested_maps[name] = b
    path = tmp_path / "m.keras"
    nested.save(path)
    c = SaliencyEngine(path, "GCAM", batch_size=2, gradcam_layer="lastconv").raw(x, [0, 0])
    np.testing.assert_allclose(c, nested_maps["GCAM"], rtol=1e-5, atol=1e-7)
