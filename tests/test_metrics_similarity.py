"""SSIM and Spearman per image, and the random-pair randomization baseline."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

from saliency_audit.errors import InputError
from saliency_audit.metrics import (
    random_pair_baseline,
    random_pairs,
    similarity_scores,
    spearman,
    ssim,
)


def structured_maps(n, size, seed):
    """Saliency-like maps: a shared anatomy-like template plus one lesion blob per image.

    Maps of different images are therefore correlated (as real ones are), which makes the
    random-pair baseline a non-trivial number.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    template = np.exp(-((xx - 0.3) ** 2 + (yy - 0.5) ** 2) / 0.03) + np.exp(
        -((xx - 0.7) ** 2 + (yy - 0.5) ** 2) / 0.03
    )
    maps = np.empty((n, size, size))
    for i in range(n):
        cy, cx = rng.uniform(0.15, 0.85, size=2)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / rng.uniform(0.005, 0.02))
        m = 0.5 * template + blob + 0.1 * rng.random((size, size))
        maps[i] = (m - m.min()) / (m.max() - m.min())
    return maps.astype(np.float16)


def test_identical_maps_score_one():
    maps = structured_maps(4, 24, seed=0)
    np.testing.assert_allclose(ssim(maps, maps), 1.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(spearman(maps, maps), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(spearman(maps, 1 - maps.astype(np.float32)), -1.0, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 16, 16), (2, 33, 47), (2, 64, 64)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_ssim_equals_skimage(shape, dtype, data_range):
    rng = np.random.default_rng(shape[1] * 7 + shape[2])
    a = rng.random(shape).astype(dtype)
    b = np.clip(a + 0.2 * rng.normal(size=shape), 0, 1).astype(dtype)
    ref = [
        structural_similarity(x, y, win_size=7, data_range=data_range)
        for x, y in zip(a, b, strict=True)
    ]
    np.testing.assert_allclose(ssim(a, b, data_range=data_range), ref, rtol=0, atol=1e-6)


def test_ssim_other_window_and_data_range_matters():
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 2, 20, 20))
    ref = [
        structural_similarity(x, y, win_size=5, data_range=1.0) for x, y in zip(a, b, strict=True)
    ]
    np.testing.assert_allclose(ssim(a, b, win_size=5), ref, rtol=0, atol=1e-6)
    # the paper's data_range=2 on [0, 1] maps inflates SSIM of unrelated maps
    assert (ssim(a, b, data_range=2.0) > ssim(a, b, data_range=1.0)).all()


def test_spearman_equals_scipy_with_ties():
    rng = np.random.default_rng(2)
    a = (np.round(rng.random((5, 16, 16)) * 8) / 8).astype(np.float16)  # heavy ties
    b = np.clip(a + 0.3 * rng.random((5, 16, 16)), 0, 1).astype(np.float16)
    c = rng.random((5, 16, 16))  # full-precision: the sorting path
    for x, y in ((a, b), (a, c), (c, c**2 + 0.1 * rng.random(c.shape))):
        ref = [spearmanr(u.ravel(), v.ravel())[0] for u, v in zip(x, y, strict=True)]
        np.testing.assert_allclose(spearman(x, y), ref, rtol=0, atol=1e-9)


def test_spearman_constant_map_is_nan():
    a = np.random.default_rng(3).random((2, 8, 8))
    b = a.copy()
    b[1] = 0.25
    rho = spearman(a, b)
    assert rho[0] == pytest.approx(1.0) and np.isnan(rho[1])


def test_shuffled_maps_score_like_random_pair_baseline():
    n = 60
    maps = structured_maps(n, 48, seed=4)
    rng = np.random.default_rng(5)
    order = rng.permutation(n)
    perm = np.empty(n, dtype=int)
    perm[order] = np.roll(order, 1)  # every image gets another image's map
    assert (perm != np.arange(n)).all()
    shuffled = ssim(maps, maps[perm])
    base = random_pair_baseline(maps, n_pairs=50, seed=0)["ssim"]
    se = np.sqrt(shuffled.var(ddof=1) / n + base.var(ddof=1) / len(base))
    assert abs(shuffled.mean() - base.mean()) < 3 * se
    assert 0.1 < base.mean() < 0.8  # the shared structure makes the baseline meaningful
    # a faithful second map (small noise) scores far above the baseline
    noisy = np.clip(maps + 0.05 * rng.normal(size=maps.shape), 0, 1).astype(np.float16)
    assert ssim(maps, noisy).mean() > base.mean() + 10 * se


def test_random_pair_baseline_reproducible_and_pairs_differ():
    maps = structured_maps(6, 16, seed=6)
    one = random_pair_baseline(maps, n_pairs=50, seed=11)
    two = random_pair_baseline(maps, n_pairs=50, seed=11)
    other = random_pair_baseline(maps, n_pairs=50, seed=12)
    assert list(one.columns) == ["image_a", "image_b", "ssim", "spearman"]
    assert len(one) == 50
    assert one.equals(two) and not one.equals(other)
    assert (one["image_a"] != one["image_b"]).all()
    assert set(one["image_a"]) | set(one["image_b"]) == set(range(6))
    a, b = one["image_a"].to_numpy(), one["image_b"].to_numpy()
    np.testing.assert_allclose(one["ssim"], ssim(maps[a], maps[b]))
    np.testing.assert_allclose(one["spearman"], spearman(maps[a], maps[b]))
    first, second = random_pairs(2, 200, seed=0)  # only two images: always (0, 1) or (1, 0)
    assert ((first + second) == 1).all() and {0, 1} <= set(first)


def test_random_pair_baseline_needs_two_images():
    with pytest.raises(InputError, match="at least 2 images, got 1"):
        random_pair_baseline(np.zeros((1, 8, 8), dtype=np.float16))


def test_similarity_scores_and_argument_errors():
    rng = np.random.default_rng(7)
    a, b = rng.random((2, 3, 10, 10))
    got = similarity_scores(a, b, ("spearman", "ssim"), data_range=2.0)
    assert list(got) == ["spearman", "ssim"]
    np.testing.assert_allclose(got["ssim"], ssim(a, b, data_range=2.0))
    with pytest.raises(InputError, match=r"a shape \(3, 10, 10\) does not match b shape"):
        ssim(a, b[:, :9])
    with pytest.raises(InputError, match="win_size must be an odd"):
        ssim(a, b, win_size=6)
    with pytest.raises(InputError, match="exceeds the map size"):
        ssim(a, b, win_size=11)
    with pytest.raises(InputError, match="data_range must be a positive"):
        ssim(a, b, data_range=0)
    with pytest.raises(InputError, match="unknown similarity metric"):
        similarity_scores(a, b, ("mse",))
