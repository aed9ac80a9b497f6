"""Grad-CAM grids are placed on their receptive-field centres, not stretched over the image."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from saliency_audit.saliency import SaliencyEngine  # noqa: E402
from saliency_audit.saliency._graph import grid_alignment, rebuild  # noqa: E402
from saliency_audit.saliency.gradcam import interpolation_matrix, upsample_grid  # noqa: E402


def probe_model(size: int):
    """Valid, same (stride 2, odd and even inputs), zero padding and pooling in one chain."""
    inp = keras.Input((size, size, 1))
    x = keras.layers.Conv2D(1, 3, strides=2, padding="valid", use_bias=False)(inp)
    x = keras.layers.ZeroPadding2D(((2, 0), (1, 3)))(x)
    x = keras.layers.Conv2D(1, 5, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.AveragePooling2D(3, strides=1, padding="valid")(x)
    x = keras.layers.Conv2D(1, 2, padding="valid", use_bias=False, name="grid")(x)
    model = keras.Model(inp, x)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([np.ones_like(w) for w in layer.get_weights()])
    return model


@pytest.mark.parametrize("size", [40, 41])
def test_alignment_matches_receptive_field_centres(size):
    """With all-ones kernels the receptive field of a cell is symmetric about its centre, so
    the centroid of d cell / d input is the centre: it must equal stride * k + offset (cells
    whose 23-pixel receptive field lies inside the image, so padding does not cut it)."""
    model = probe_model(size)
    (sr, br), (sc, bc) = grid_alignment(model)
    assert sr == sc == 4.0
    x = tf.ones((1, size, size, 1))
    rows, cols = np.mgrid[0:size, 0:size]
    for i, j in [(3, 3), (4, 4), (5, 2)]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x)[0, i, j, 0]
        g = tape.gradient(y, x).numpy()[0, ..., 0]
        assert g[0].sum() == g[-1].sum() == g[:, 0].sum() == g[:, -1].sum() == 0  # inside
        g = g / g.sum()
        assert (g * rows).sum() == pytest.approx(sr * i + br, abs=1e-4)
        assert (g * cols).sum() == pytest.approx(sc * j + bc, abs=1e-4)


def test_inceptionv3_mixed2_at_96px_known_centres():
    """Hand-derived: stem conv s2 valid (2q+1), conv valid (+1), pool 3 s2 valid (2n+1),
    conv valid (+1), pool 3 s2 valid (2k+1): cell k of mixed2 sits on pixel 8k + 13."""
    from saliency_audit.models.classifier import build_classifier

    flat = rebuild(build_classifier("inceptionv3", 96), capture="mixed2")
    assert tuple(flat.outputs[0].shape[1:3]) == (9, 9)
    assert grid_alignment(flat) == ((8.0, 13.0), (8.0, 13.0))


def test_unmodelled_layer_and_disagreeing_branches_give_none():
    inp = keras.Input((16, 16, 1))
    up = keras.layers.UpSampling2D(2)(keras.layers.Conv2D(1, 3, strides=2, padding="same")(inp))
    assert grid_alignment(keras.Model(inp, up)) is None
    a = keras.layers.Conv2D(1, 3, padding="valid")(inp)  # centres at 1..14
    b = keras.layers.Cropping2D(((2, 0), (2, 0)))(inp)  # centres at 2..15
    assert grid_alignment(keras.Model(inp, keras.layers.Add()([a, b]))) is None
    c = keras.layers.Cropping2D(((1, 1), (1, 1)))(inp)  # centres at 1..14, as a
    both = keras.layers.Concatenate()([a, c])
    assert grid_alignment(keras.Model(inp, both)) == ((1.0, 1.0), (1.0, 1.0))


def test_upsample_places_cells_on_their_centres():
    grid = np.zeros((4, 4), np.float32)
    grid[1, 2] = 2.0
    out = upsample_grid(grid, 32, ((8.0, 5.0), (8.0, 5.0)))
    assert out.shape == (32, 32)
    assert np.unravel_index(out.argmax(), out.shape) == (13, 21)  # 8*1+5, 8*2+5
    assert out.max() == pytest.approx(1.0)  # divided by the grid maximum
    assert out[9, 21] == pytest.approx(0.5)  # half way to the neighbouring cell
    assert out[0, 0] == 0 and out[-1, -1] == 0
    flat = upsample_grid(np.full((3, 3), 0.7, np.float32), 20, ((6.0, 4.0), (6.0, 4.0)))
    np.testing.assert_allclose(flat, 1.0)  # constant grid -> constant 1 map
    assert np.all(upsample_grid(np.zeros((3, 3)), 10, ((3.0, 1.0), (3.0, 1.0))) == 0)
    w = interpolation_matrix(5, 40, 8.0, 3.0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert np.all(w[:4, 0] == 1) and np.all(w[35:, 4] == 1)  # held beyond the edge centres


def test_gcam_without_alignment_falls_back_to_stretching():
    """A Grad-CAM layer behind an unmodelled layer is stretched over the image (as the
    saliency package does) instead of failing."""
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.UpSampling2D(2, name="up")(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="cam")(x)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
    eng = SaliencyEngine(model, "GCAM", batch_size=2, gradcam_layer="cam")
    assert eng.ctx.gradcam_alignment is None
    raw = eng.raw(np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32), [0, 0])
    assert raw.shape == (2, 8, 8, 1) and np.isfinite(raw).all()


def test_grid_parameter_stretch_reproduces_the_package_and_bad_values_are_refused():
    """``grid: stretch`` is ``GradCam.GetMask(should_resize=True)`` exactly; ``grid`` is
    checked when the method is made (GGCAM passes it to its Grad-CAM)."""
    from saliency.core import GradCam as CoreGradCam

    from saliency_audit.errors import InputError
    from saliency_audit.saliency import get_method

    keras.utils.set_random_seed(1)
    inp = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(4, 5, strides=2, padding="valid", activation="relu", name="cam")(inp)
    # positive output weights: the class gradient is positive, so the Grad-CAM maps are not all
    # zero (with a random Dense they could be, and both grids would agree trivially)
    head = keras.layers.Dense(1, kernel_initializer="ones")
    model = keras.Model(inp, head(keras.layers.GlobalAveragePooling2D()(x)))
    x = np.random.default_rng(1).uniform(-1, 1, (2, 24, 24, 3)).astype(np.float32)
    stretch = SaliencyEngine(model, get_method("GCAM", grid="stretch"), gradcam_layer="cam")
    aligned = SaliencyEngine(model, "GCAM", gradcam_layer="cam")
    ours = stretch.raw(x, [0, 0])[..., 0]
    fn = stretch.ctx.function("gradcam", None)
    for i in range(2):
        package = CoreGradCam().GetMask(
            x[i], fn.call_model_function, {"sign": np.ones(1, np.float32)}, three_dims=False
        )
        np.testing.assert_allclose(ours[i], package, rtol=1e-5, atol=1e-6)
    assert ours.max() > 0
    assert not np.allclose(aligned.raw(x, [0, 0])[..., 0], ours)  # centres 2, 4, ..., 20
    assert get_method("GGCAM", grid="stretch")._gcam.params["grid"] == "stretch"
    for name in ("GCAM", "GGCAM"):
        with pytest.raises(InputError, match=f"{name}, parameter grid: one of receptive_field"):
            get_method(name, grid="nearest")
