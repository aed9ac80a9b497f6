"""Pixel utility (AUPRC, trapezoidal AUPRC, AUROC) against scikit-learn, and tidy tables."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score

from saliency_audit.errors import InputError
from saliency_audit.metrics import (
    COLUMNS,
    auprc_trapezoid,
    average_precision,
    concat_tidy,
    pixel_auroc,
    tidy_frame,
    utility_scores,
)


def blob_masks(n, size, rng):
    """Rectangular lesions of random size and place, one per image."""
    masks = np.zeros((n, size, size), dtype=bool)
    for i in range(n):
        h, w = rng.integers(2, size // 2, size=2)
        r, c = rng.integers(0, size - h), rng.integers(0, size - w)
        masks[i, r : r + h, c : c + w] = True
    return masks


def sklearn_scores(maps, masks):
    ap, tz, roc = [], [], []
    for m, g in zip(maps, masks, strict=True):
        y, s = g.ravel(), m.ravel().astype(np.float64)
        precision, recall, _ = precision_recall_curve(y, s)
        ap.append(average_precision_score(y, s))
        tz.append(auc(recall, precision))
        roc.append(roc_auc_score(y, s))
    return np.array(ap), np.array(tz), np.array(roc)


def assert_matches_sklearn(maps, masks):
    got = utility_scores(maps, masks)
    ap, tz, roc = sklearn_scores(maps, masks)
    np.testing.assert_allclose(got["auprc"], ap, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["auprc_trapz"], tz, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["auroc"], roc, rtol=0, atol=1e-9)


def test_oracle_map_scores_one():
    masks = blob_masks(5, 24, np.random.default_rng(0))
    maps = masks.astype(np.float16)
    got = utility_scores(maps, masks)
    for name in ("auprc", "auprc_trapz", "auroc"):
        np.testing.assert_array_equal(got[name], 1.0)


def test_constant_map_ap_is_prevalence_and_auroc_half():
    masks = blob_masks(6, 20, np.random.default_rng(1))
    maps = np.full(masks.shape, 0.3, dtype=np.float16)
    prevalence = masks.reshape(6, -1).mean(axis=1)
    np.testing.assert_allclose(average_precision(maps, masks), prevalence, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pixel_auroc(maps, masks), 0.5, rtol=0, atol=1e-12)
    # the trapezoid joins (recall 1, prevalence) to (recall 0, precision 1)
    np.testing.assert_allclose(
        auprc_trapezoid(maps, masks), (1 + prevalence) / 2, rtol=0, atol=1e-12
    )


def test_matches_sklearn_with_float16_ties():
    rng = np.random.default_rng(2)
    n, size = 40, 32  # more than one block of images
    smooth = rng.random((n, 4, 4)).repeat(8, axis=1).repeat(8, axis=2)
    maps = (0.8 * smooth + 0.2 * rng.random((n, size, size))) ** 2
    maps = np.round(maps * 64) / 64  # few distinct values: many ties
    maps = maps.astype(np.float16)
    assert len(np.unique(maps[0])) < 80  # ties really are there
    masks = blob_masks(n, size, rng)
    masks[::3] |= rng.random((len(masks[::3]), size, size)) < 0.05  # scattered positives
    assert_matches_sklearn(maps, masks)


def test_matches_sklearn_on_full_precision_maps():
    """float32/float64 maps not representable in float16 take the sorting path."""
    rng = np.random.default_rng(3)
    masks = blob_masks(7, 16, rng)
    maps64 = rng.random((7, 16, 16))
    maps64[:, :4] = 0.123456789  # a tied block as well
    assert_matches_sklearn(maps64, masks)
    assert_matches_sklearn(maps64.astype(np.float32), masks)
    # negative scores and signed zeros are ranked like any other value
    signed = np.where(rng.random((7, 16, 16)) < 0.3, -0.0, rng.normal(size=(7, 16, 16)))
    assert_matches_sklearn(signed, masks)
    signed16 = signed.astype(np.float16)
    assert np.signbit(signed16[signed16 == 0]).all()  # -0.0 ties with +0.0 in sklearn
    signed16[:, -1, -1] = 0.0
    assert_matches_sklearn(signed16, masks)


def test_trapezoid_equals_sklearn_auc_of_pr_curve():
    rng = np.random.default_rng(4)
    masks = blob_masks(4, 16, rng)
    maps = rng.random((4, 16, 16)).astype(np.float16)
    ap, tz, _ = sklearn_scores(maps, masks)
    np.testing.assert_allclose(auprc_trapezoid(maps, masks), tz, rtol=0, atol=1e-9)
    assert np.abs(tz - ap).min() > 1e-3  # the two variants really differ


def test_empty_mask_is_nan_and_full_mask_auroc_is_nan():
    rng = np.random.default_rng(5)
    maps = rng.random((3, 10, 10)).astype(np.float16)
    masks = np.zeros((3, 10, 10), dtype=np.uint8)
    masks[1] = 1
    masks[2, :5] = 255  # any non-zero value is inside
    got = utility_scores(maps, masks)
    for name in ("auprc", "auprc_trapz", "auroc"):
        assert np.isnan(got[name][0])
    assert got["auprc"][1] == 1.0 and np.isnan(got["auroc"][1])
    assert np.isfinite(got["auroc"][2])


def test_metric_selection_and_order():
    rng = np.random.default_rng(6)
    maps, masks = rng.random((2, 8, 8)), blob_masks(2, 8, rng)
    assert list(utility_scores(maps, masks, ("auroc", "auprc"))) == ["auroc", "auprc"]
    with pytest.raises(InputError, match="unknown utility metric"):
        utility_scores(maps, masks, ("dice",))


def test_memmapped_float16_stack(tmp_path):
    rng = np.random.default_rng(7)
    masks = blob_masks(3, 12, rng)
    stack = np.lib.format.open_memmap(
        tmp_path / "maps.npy", mode="w+", dtype=np.float16, shape=masks.shape
    )
    stack[:] = rng.random(masks.shape)
    stack.flush()
    maps = np.load(tmp_path / "maps.npy", mmap_mode="r")
    assert_matches_sklearn(maps, masks)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(InputError, match=r"maps shape \(2, 8, 8\).*masks shape \(2, 8, 9\)"):
        average_precision(np.zeros((2, 8, 8)), np.zeros((2, 8, 9), dtype=bool))
    with pytest.raises(InputError, match=r"3-D stack.*\(8, 8\)"):
        pixel_auroc(np.zeros((8, 8)), np.zeros((8, 8), dtype=bool))


def test_bad_values_are_named():
    maps = np.zeros((3, 4, 4), dtype=np.float16)
    maps[2, 1, 1] = np.nan
    with pytest.raises(InputError, match="image 2"):
        average_precision(maps, np.ones((3, 4, 4), dtype=bool))
    masks = np.full((2, 4, 4), 0.5)
    with pytest.raises(InputError, match="masks: image 0.*0/1"):
        average_precision(np.zeros((2, 4, 4)), masks)


def test_tidy_frame_layout():
    vals = {"auprc": np.array([0.1, 0.2, np.nan]), "auroc": [0.5, 0.6, 0.7]}
    frame = tidy_frame(
        vals,
        dataset="siim",
        model="inceptionv3_r1",
        method="GRAD",
        step="trained",
        image_ids=["a", "b", "c"],
    )
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 6
    assert list(frame["metric"]) == ["auprc"] * 3 + ["auroc"] * 3
    assert list(frame["image_id"]) == ["a", "b", "c"] * 2
    assert set(frame["dataset"]) == {"siim"} and set(frame["step"]) == {"trained"}
    np.testing.assert_array_equal(frame["value"].to_numpy(), [0.1, 0.2, np.nan, 0.5, 0.6, 0.7])


def test_tidy_frame_length_mismatch_names_metric():
    with pytest.raises(InputError, match="'auroc'.*2 value.*3 image"):
        tidy_frame(
            {"auprc": [1, 2, 3], "auroc": [1, 2]},
            dataset="d",
            model="m",
            method="x",
            step="s",
            image_ids=[1, 2, 3],
        )


def test_concat_tidy():
    one = tidy_frame({"ssim": [1.0]}, dataset="d", model="m", method="a", step="s", image_ids=[0])
    two = tidy_frame({"ssim": [0.5]}, dataset="d", model="m", method="b", step="s", image_ids=[0])
    both = concat_tidy([one, two])
    assert list(both.index) == [0, 1] and list(both["method"]) == ["a", "b"]
    assert list(concat_tidy([]).columns) == COLUMNS
    with pytest.raises(InputError, match="frame 1 has columns"):
        concat_tidy([one, pd.DataFrame({"x": [1]})])
