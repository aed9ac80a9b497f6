"""Known answers of the faithfulness curves (deletion, insertion, ROAD)."""

import numpy as np
import pytest

from saliency_audit.trust import faithfulness as F


def _linear(w):
    return lambda imgs: np.einsum("nhw,hw->n", np.asarray(imgs, np.float64), w)


def _zero_reference_curves(predict, x, orders, steps):
    """Every curve of every order with removed pixels set to 0 (ROAD without noise)."""
    return F.image_curves(
        predict,
        x,
        orders,
        steps=steps,
        replacement="mean",
        sigma=1.0,
        mean=0.0,
        road_noise=0.0,
        seed=1,
    )


def test_linear_model_deletion_is_monotone_and_insertion_is_one_minus_deletion():
    rng = np.random.default_rng(0)
    w = rng.uniform(0.1, 1.0, (12, 12))
    x = rng.uniform(0.1, 1.0, (12, 12))
    predict = _linear(w)
    attribution = w * (x - 0.0)  # gradient x input against the zero reference
    order = F.pixel_order(attribution, rng.random(x.shape))
    curves = _zero_reference_curves(predict, x, {"map": order}, steps=12)["map"]
    deletion, insertion = curves["deletion"], curves["insertion"]
    assert np.all(np.diff(deletion) < 0)  # every deleted pixel lowers the logit
    assert np.all(np.diff(insertion) > 0)
    full, ref = predict(x[None])[0], 0.0
    d, i = F.normalise(deletion, full, ref), F.normalise(insertion, full, ref)
    np.testing.assert_allclose(d + i, 1.0, atol=1e-12)
    fr = F.fractions(12)
    assert F.area(i, fr) == pytest.approx(1.0 - F.area(d, fr), abs=1e-12)
    assert d[0] == pytest.approx(1.0) and d[-1] == pytest.approx(0.0)


def test_the_map_order_beats_a_random_order_on_a_linear_model():
    rng = np.random.default_rng(3)
    w = np.zeros((16, 16))
    w[4:8, 4:8] = 1.0  # the model reads one patch
    x = rng.uniform(0.5, 1.0, (16, 16))
    predict = _linear(w)
    orders = {
        "map": F.pixel_order(w * x, rng.random(x.shape)),
        "random": F.random_order(x.size, np.random.default_rng(5)),
    }
    c = _zero_reference_curves(predict, x, orders, steps=16)
    fr, road_fr = F.fractions(16), F.fractions(16, road=True)
    assert F.area(c["map"]["deletion"], fr) < F.area(c["random"]["deletion"], fr)
    assert F.area(c["map"]["insertion"], fr) > F.area(c["random"]["insertion"], fr)
    assert F.area(c["map"]["road"], road_fr) < F.area(c["random"]["road"], road_fr)


def test_ties_are_broken_by_the_random_key_not_by_pixel_position():
    flat = np.zeros((4, 4))
    key = np.arange(16)[::-1].reshape(4, 4).astype(float)
    order = F.pixel_order(flat, key)
    assert order[0] == 15 and order[-1] == 0  # the key decides among equal values
    peak = flat.copy()
    peak[2, 1] = 1.0
    assert F.pixel_order(peak, key)[0] == 9


def test_road_imputes_a_smooth_image_exactly_without_noise():
    yy, xx = np.mgrid[0:10, 0:10].astype(float)
    plane = 0.1 * xx + 0.05 * yy  # every interior pixel is the weighted mean of its neighbours
    removed = np.zeros_like(plane, bool)
    removed[3:7, 3:7] = True
    out = F.impute(plane, removed, noise=0.0, rng=np.random.default_rng(0))
    np.testing.assert_allclose(out, plane, atol=1e-10)
    noisy = F.impute(plane, removed, noise=0.1, rng=np.random.default_rng(0))
    assert np.array_equal(noisy[~removed], plane[~removed])
    assert 0.03 < np.std(noisy[removed] - plane[removed]) < 0.2
    with pytest.raises(ValueError, match="every pixel"):
        F.impute(plane, np.ones_like(removed), noise=0.0, rng=np.random.default_rng(0))


def test_reference_images_and_fractions():
    img = np.zeros((9, 9))
    img[4, 4] = 1.0
    blur = F.reference_image(img, "blur", sigma=1.0, mean=0.0)
    assert blur[4, 4] < 1.0 and blur.sum() == pytest.approx(1.0, rel=1e-6)
    assert np.all(F.reference_image(img, "mean", sigma=1.0, mean=0.3) == 0.3)
    with pytest.raises(ValueError, match="replacement"):
        F.reference_image(img, "zero", sigma=1.0, mean=0.0)
    np.testing.assert_allclose(F.fractions(4), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(F.fractions(4, road=True), [0, 0.25, 0.5, 0.75])
    assert F.area(np.array([1.0, 1.0, 1.0]), np.array([0, 0.5, 1.0])) == pytest.approx(1.0)
    assert np.isnan(F.normalise(np.array([1.0]), 2.0, 2.0)).all()
