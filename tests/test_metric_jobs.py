"""The registered mask metrics and metric job helpers: known answers on constructed maps."""

import numpy as np
import pandas as pd
import pytest

from saliency_audit.errors import InputError
from saliency_audit.jobs.metrics import average_mask
from saliency_audit.metrics import MetricParams, cross_fitted_iou, score
from saliency_audit.vocabulary import metric_names


def utility_values(maps, masks):
    """Every registered mask metric, as the metric jobs compute them."""
    return score(metric_names(compares="mask"), maps, masks, MetricParams(topk_fraction=0.05))


def blobs(n=6, size=32, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        y, x = rng.integers(4, size - 12, 2)
        masks[i, y : y + 8, x : x + 8] = True
    return masks


def test_oracle_map_scores_perfectly():
    masks = blobs()
    vals = utility_values(masks.astype(np.float32), masks)
    assert list(vals) == metric_names(compares="mask")
    for key in ("auprc", "auprc_trapz", "auroc", "iou_otsu", "iou_tuned", "hit", "mass", "rank"):
        np.testing.assert_allclose(vals[key], 1.0, err_msg=key)


def test_constant_map_scores_the_prevalence():
    masks = blobs()
    vals = utility_values(np.full(masks.shape, 0.5, np.float32), masks)
    prevalence = masks.reshape(len(masks), -1).mean(axis=1)
    np.testing.assert_allclose(vals["auprc"], prevalence)
    np.testing.assert_allclose(vals["auroc"], 0.5)
    np.testing.assert_array_equal(vals["iou_otsu"], 0.0)  # constant map: empty segmentation


def test_cross_fitted_threshold_is_tuned_on_the_other_half():
    masks = blobs(n=8)
    maps = np.where(masks, 0.8, 0.2).astype(np.float32)
    np.testing.assert_allclose(cross_fitted_iou(maps, masks, seed=3), 1.0)
    # too few images to cross-fit: NaN, never a made-up score
    assert np.isnan(cross_fitted_iou(maps[:1], masks[:1], seed=3)).all()


def test_average_mask_uses_train_and_val_only(tmp_path):
    masks = np.zeros((4, 8, 8), np.uint8)
    masks[0, :4] = 1  # train
    masks[1, :, :4] = 1  # val
    masks[2] = 1  # test: must not leak into AVG
    np.save(tmp_path / "masks.npy", masks)
    pd.DataFrame({"index": range(4), "image_id": list("abcd")}).to_csv(
        tmp_path / "index.csv", index=False
    )
    (tmp_path / "split.csv").write_text(",Image_ID,Split\n0,a,train\n1,b,val\n2,c,test\n3,d,test\n")
    avg = average_mask(tmp_path / "masks.npy", tmp_path / "index.csv", tmp_path / "split.csv")
    expected = (masks[0] + masks[1]) / 2
    np.testing.assert_allclose(avg, expected)


def test_shape_mismatch_is_named():
    with pytest.raises(InputError, match="shape"):
        utility_values(np.zeros((2, 8, 8), np.float32), np.zeros((3, 8, 8), bool))
