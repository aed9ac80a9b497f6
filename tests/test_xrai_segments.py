"""XRAI's segments are computed once per image and shared across models and calls."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from saliency_audit.saliency import SaliencyEngine  # noqa: E402
from saliency_audit.saliency import xrai as xrai_module  # noqa: E402
from saliency_audit.saliency.xrai import SegmentCache  # noqa: E402


def small_cnn(seed: int):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(1)(x))


def test_segments_cached_per_image_and_maps_unchanged(monkeypatch):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    uncached = SegmentCache(max_bytes=0)  # stores nothing: every call segments anew
    monkeypatch.setattr(xrai_module, "SEGMENTS", uncached)
    eng = SaliencyEngine(small_cnn(0), "XRAI", batch_size=8)
    expected = eng.maps(imgs, [0, 1, 2], seed=0)
    assert uncached.misses == 3 and uncached.hits == 0

    cache = SegmentCache()
    monkeypatch.setattr(xrai_module, "SEGMENTS", cache)
    np.testing.assert_array_equal(eng.maps(imgs, [0, 1, 2], seed=0), expected)
    assert (cache.misses, cache.hits) == (3, 0)
    other = SaliencyEngine(small_cnn(1), "XRAI", batch_size=8)  # another model, same images
    other.maps(imgs, [2, 0], seed=0)
    assert (cache.misses, cache.hits) == (3, 2)
    segs = cache.get(np.zeros((32, 32, 3), np.float32))
    assert segs and not segs[0].flags.writeable  # shared: read-only


def test_cache_evicts_least_recently_used_beyond_its_budget():
    x = [np.full((16, 16, 3), v, np.float32) for v in (0.1, 0.5, 0.9)]
    one = sum(m.nbytes for m in SegmentCache().get(x[0]))
    cache = SegmentCache(max_bytes=2 * one)
    for xi in (x[0], x[1], x[0], x[2]):  # x[1] is the least recently used when x[2] comes
        cache.get(xi)
    assert (cache.misses, cache.hits) == (3, 1)
    cache.get(x[0])
    cache.get(x[1])
    assert (cache.misses, cache.hits) == (4, 2)
