"""Localization (Otsu/tuned segmentation, COCO RLE, IoU, pointing game, bootstrap CI) and
attribution metrics (relevance mass and rank accuracy, top-k intersection)."""

import json

import numpy as np
import pytest
from skimage.filters import threshold_otsu

from saliency_audit.errors import InputError
from saliency_audit.metrics import (
    bootstrap_ci,
    decode_coco_rle,
    default_topk,
    encode_coco_rle,
    iou,
    otsu_threshold_masks,
    otsu_thresholds,
    pointing_hit,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    threshold_masks,
    topk_intersection,
    tune_threshold,
)


def rect(shape, r0, r1, c0, c1):
    m = np.zeros(shape, dtype=bool)
    m[r0:r1, c0:c1] = True
    return m


# ----------------------------------------------------------------------------- IoU
def test_iou_of_known_rectangles():
    gt = np.stack([rect((20, 20), 5, 15, 5, 15)] * 4)
    pred = np.stack(
        [
            rect((20, 20), 0, 10, 0, 10),  # 25 shared of 175: 1/7
            rect((20, 20), 5, 15, 5, 15),  # identical
            rect((20, 20), 0, 0, 0, 0),  # empty prediction
            rect((20, 20), 5, 15, 5, 10),  # half of the ground truth
        ]
    )
    np.testing.assert_allclose(iou(pred, gt), [1 / 7, 1.0, 0.0, 0.5])


def test_iou_empty_ground_truth_is_nan():
    pred = np.stack([rect((8, 8), 0, 4, 0, 4), rect((8, 8), 0, 0, 0, 0)])
    got = iou(pred, np.zeros((2, 8, 8), dtype=np.uint8))
    assert np.isnan(got).all()


def test_iou_shape_mismatch_names_both_shapes():
    with pytest.raises(InputError, match=r"pred shape \(1, 8, 8\) does not match gt shape"):
        iou(np.zeros((1, 8, 8), bool), np.zeros((2, 8, 8), bool))


# ---------------------------------------------------------------------- segmentation
def test_otsu_on_two_level_map_recovers_bright_region():
    rng = np.random.default_rng(0)
    bright = np.stack([rect((32, 32), 4, 12, 6, 20), rect((32, 32), 16, 30, 1, 31)])
    maps = np.where(bright, 0.8, 0.15) + 0.05 * rng.random(bright.shape)
    seg = otsu_threshold_masks(maps.astype(np.float16))
    np.testing.assert_array_equal(seg, bright)
    assert seg.dtype == bool


def test_otsu_matches_skimage_and_constant_map_is_empty():
    rng = np.random.default_rng(1)
    maps = (rng.random((5, 16, 16)) ** 2).astype(np.float16)
    maps[3] = 0.4
    t = otsu_thresholds(maps)
    seg = otsu_threshold_masks(maps)
    for i in (0, 1, 2, 4):
        assert t[i] == threshold_otsu(maps[i].astype(np.float32))
        np.testing.assert_array_equal(seg[i], maps[i] > t[i])
    assert np.isnan(t[3]) and not seg[3].any()


def test_threshold_masks_is_strict_and_float64():
    maps = np.array([[[0.1, 0.5], [0.50001, 0.09]]], dtype=np.float32)
    np.testing.assert_array_equal(threshold_masks(maps, 0.5), [[[False, False], [True, False]]])
    # float32(0.1) = 0.10000000149... lies above the float64 threshold 0.1
    np.testing.assert_array_equal(threshold_masks(maps, 0.1), [[[True, True], [True, False]]])
    with pytest.raises(InputError, match="threshold must be a finite number"):
        threshold_masks(maps, float("nan"))


def test_tune_threshold_picks_lowest_best_and_skips_empty_truth():
    lesion = rect((16, 16), 2, 8, 2, 8)
    decoy = rect((16, 16), 10, 14, 10, 14)
    maps = np.where(lesion, 0.8, np.where(decoy, 0.47, 0.3))[None].repeat(3, axis=0)
    masks = np.stack([lesion, lesion, np.zeros((16, 16), bool)])
    maps[2] = 0.99  # an image without lesion: it must not influence the tuning
    # thresholds 0.5 ... 0.75 all give IoU 1 (the decoy at 0.47 is excluded): lowest wins
    assert tune_threshold(maps, masks) == pytest.approx(0.5)
    # brute force over the grid with threshold_masks + iou agrees on random data
    rng = np.random.default_rng(2)
    rmaps = rng.random((6, 12, 12)).astype(np.float16)
    rmasks = rmaps + 0.3 * rng.random(rmaps.shape) > 0.9
    grid = np.linspace(0.05, 0.95, 19)
    means = [np.nanmean(iou(threshold_masks(rmaps, t), rmasks)) for t in grid]
    assert tune_threshold(rmaps, rmasks) == grid[int(np.argmax(means))]
    with pytest.raises(InputError, match="every ground-truth mask is empty"):
        tune_threshold(rmaps, np.zeros_like(rmasks))


def test_coco_rle_round_trip_through_json():
    rng = np.random.default_rng(3)
    masks = rng.random((4, 20, 30)) < 0.3
    masks[1] = False
    masks[2] = True
    rles = encode_coco_rle(masks)
    assert len(rles) == 4
    assert all(isinstance(r["counts"], str) and r["size"] == [20, 30] for r in rles)
    back = decode_coco_rle(json.loads(json.dumps(rles)))
    assert back.dtype == bool
    np.testing.assert_array_equal(back, masks)
    np.testing.assert_array_equal(decode_coco_rle(encode_coco_rle(masks.astype(np.uint8))), masks)
    assert encode_coco_rle(np.zeros((0, 5, 5), bool)) == []
    with pytest.raises(InputError, match="different sizes"):
        decode_coco_rle(rles[:1] + encode_coco_rle(np.zeros((1, 5, 5), bool)))


# ---------------------------------------------------------------------- pointing game
def test_pointing_hit_oracle_miss_and_empty_mask():
    gt = np.stack([rect((10, 10), 2, 5, 2, 5)] * 3 + [np.zeros((10, 10), bool)])
    maps = np.zeros((4, 10, 10), dtype=np.float16)
    maps[0] = gt[0]  # oracle: maximum inside
    maps[1, 8, 8] = 1.0  # maximum outside
    maps[2] = 0.5  # constant: every pixel ties, the hit is the mask's share of the image
    maps[3] = gt[0]  # a perfect-looking map but no ground truth
    got = pointing_hit(maps, gt)
    np.testing.assert_array_equal(got[:3], [1.0, 0.0, 9 / 100])
    assert np.isnan(got[3])


def test_pointing_hit_shares_ties_instead_of_taking_the_first_pixel():
    """A one-pixel lesion on the true maximum of a map whose 99th-percentile clip made ~1% of
    the pixels tie at 1.0: its raw map hits; its display map shares the tie, it is never
    decided by which tied pixel comes first in row order."""
    from saliency_audit.saliency.postprocess import postprocess

    rng = np.random.default_rng(0)
    raw = rng.random((32, 32))
    peak = np.unravel_index(np.argmax(raw), raw.shape)
    lesion = np.zeros((1, 32, 32), bool)
    lesion[0][peak] = True
    display = postprocess(raw)[None]
    ties = int((display == display.max()).sum())
    assert ties > 5 and np.argmax(display[0]) != np.ravel_multi_index(peak, raw.shape)
    assert pointing_hit(raw[None], lesion)[0] == 1.0
    np.testing.assert_allclose(pointing_hit(display, lesion)[0], 1 / ties)


# ---------------------------------------------------------------------- bootstrap
def test_bootstrap_ci_contains_mean_and_is_reproducible():
    rng = np.random.default_rng(4)
    values = np.concatenate([rng.random(80), [np.nan] * 5])
    mean, lo, hi = bootstrap_ci(values, seed=7)
    assert mean == pytest.approx(np.nanmean(values))
    assert lo < mean < hi
    assert bootstrap_ci(values, seed=7) == (mean, lo, hi)
    assert bootstrap_ci(values, seed=8) != (mean, lo, hi)
    _, lo50, hi50 = bootstrap_ci(values, seed=7, level=0.5)
    assert lo < lo50 < hi50 < hi
    # roughly the normal-theory interval for a mean
    half = 1.96 * np.nanstd(values, ddof=1) / np.sqrt(80)
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.2)


def test_bootstrap_ci_degenerate_inputs():
    assert all(np.isnan(v) for v in bootstrap_ci([np.nan, np.nan]))
    assert all(np.isnan(v) for v in bootstrap_ci([]))
    assert bootstrap_ci([0.3, 0.3, 0.3]) == pytest.approx((0.3, 0.3, 0.3))
    with pytest.raises(InputError, match="level"):
        bootstrap_ci([1.0, 2.0], level=95)


# ---------------------------------------------------------------------- attribution
def test_relevance_mass_known_answers():
    gt = np.stack([rect((10, 10), 0, 5, 0, 10)] * 4)
    maps = np.zeros((4, 10, 10))
    maps[0] = gt[0]  # oracle
    maps[1] = 1.0  # uniform: half the mass inside
    maps[2, 0, 0], maps[2, 9, 9] = 0.25, 0.75  # a quarter inside
    got = relevance_mass_accuracy(maps, gt)
    np.testing.assert_allclose(got[:3], [1.0, 0.5, 0.25])
    assert np.isnan(got[3])  # an all-zero map has no mass
    assert np.isnan(relevance_mass_accuracy(maps[:1], np.zeros((1, 10, 10), bool))[0])


def test_relevance_rank_accuracy_against_brute_force():
    rng = np.random.default_rng(5)
    maps = rng.random((40, 12, 12))  # distinct values: no ties
    masks = rng.random((40, 12, 12)) < 0.2
    masks[0] = False
    got = relevance_rank_accuracy(maps, masks)
    for i in range(1, 40):
        k = masks[i].sum()
        top = np.argsort(-maps[i].ravel())[:k]
        assert got[i] == pytest.approx(masks[i].ravel()[top].mean())
    assert np.isnan(got[0])
    oracle = relevance_rank_accuracy(masks[1:].astype(np.float16), masks[1:])
    np.testing.assert_array_equal(oracle, 1.0)


def test_topk_intersection_known_answer_and_ties():
    ramp = (np.arange(100, dtype=np.float64) / 100).reshape(1, 10, 10)
    mask = np.zeros((1, 10, 10), dtype=bool)
    mask.flat[[97, 98, 99, 10, 20]] = True
    # the 5 highest pixels are 95..99, three of them in the mask
    assert topk_intersection(ramp, mask, k=5)[0] == pytest.approx(0.6)
    assert topk_intersection(ramp, mask, k=3)[0] == pytest.approx(1.0)
    # a constant map shares the tie: the mask's share of the image, wherever the mask is
    const = np.full((1, 10, 10), 0.5, dtype=np.float16)
    assert topk_intersection(const, rect((10, 10), 0, 5, 0, 5)[None], k=10)[0] == 0.25
    # partial tie at the boundary: 2 strictly above (1 inside), 4 tied (2 inside), k=4
    m = np.zeros((1, 10, 10))
    m.flat[[0, 1]] = 1.0
    m.flat[[2, 3, 4, 5]] = 0.5
    g = np.zeros((1, 10, 10), bool)
    g.flat[[0, 2, 3]] = True
    assert topk_intersection(m, g, k=4)[0] == pytest.approx((1 + 2 * 2 / 4) / 4)
    assert np.isnan(topk_intersection(ramp, np.zeros_like(mask), k=5)[0])
    assert default_topk(320 * 320) == 5120
    with pytest.raises(InputError, match="k must be an integer between 1 and 100"):
        topk_intersection(ramp, mask, k=101)


def test_attribution_shape_mismatch():
    with pytest.raises(InputError, match=r"maps shape \(1, 4, 4\) does not match masks shape"):
        relevance_mass_accuracy(np.zeros((1, 4, 4)), np.zeros((1, 4, 5), bool))


def test_an_empty_stack_gives_empty_segmentations():
    """No maps (e.g. no validation image to map): no segmentations, not an error."""
    from saliency_audit.metrics.localization import otsu_threshold_masks, threshold_masks

    empty = np.zeros((0, 5, 7), np.float32)
    assert threshold_masks(empty, 0.5).shape == (0, 5, 7)
    assert otsu_threshold_masks(empty).shape == (0, 5, 7)
