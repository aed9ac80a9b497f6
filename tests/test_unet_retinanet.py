"""High baselines: U-Net segmentation maps and RetinaNet box score maps (tiny, CPU)."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from saliency_audit.errors import InputError
from saliency_audit.models._loop import Schedule
from saliency_audit.models.classifier import save_model
from saliency_audit.models.retinanet import (
    CLASS_PRIOR,
    boxes_to_score_map,
    build_retinanet,
    default_max_level,
    inclusive_to_edges,
    load_retinanet,
    max_anchor_iou,
    predict_boxes,
    predict_score_maps,
    set_bn_momentum,
    train_retinanet,
)
from saliency_audit.models.tf_setup import configure_tensorflow
from saliency_audit.models.unet import build_unet, load_unet, predict_maps, train_unet

LOG = logging.getLogger("test")


@pytest.fixture(scope="module", autouse=True)
def _tf():
    configure_tensorflow(None, deterministic=True, seed=0)


# --------------------------------------------------------------------------- box maps


def test_boxes_to_score_map_known_answer():
    boxes = [
        (1, 1, 4, 3),  # columns 1..3, rows 1..2
        (3, 2, 6, 6),  # columns 3..5, rows 2..5 (clipped at the border)
        (2, 2, 2, 5),  # zero width: covers nothing
        (-2, -2, 1, 1),  # clipped to pixel (0, 0)
        (4.4, 0.2, 5.4, 0.9),  # centre rule: column 4 only (4.5 in [4.4, 5.4)), row 0
    ]
    scores = [0.5, 0.8, 1.0, 0.3, 0.9]
    expected = np.array(
        [
            [0.3, 0.0, 0.0, 0.0, 0.9, 0.0],
            [0.0, 0.5, 0.5, 0.5, 0.0, 0.0],
            [0.0, 0.5, 0.5, 0.8, 0.8, 0.8],
            [0.0, 0.0, 0.0, 0.8, 0.8, 0.8],
            [0.0, 0.0, 0.0, 0.8, 0.8, 0.8],
            [0.0, 0.0, 0.0, 0.8, 0.8, 0.8],
        ],
        dtype=np.float32,
    )
    got = boxes_to_score_map(boxes, scores, 6)
    assert got.dtype == np.float32 and got.shape == (6, 6)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(boxes_to_score_map(np.zeros((0, 4)), [], 3), np.zeros((3, 3)))
    assert boxes_to_score_map([(0, 0, 2, 1)], [0.7], (2, 3)).tolist() == [
        [np.float32(0.7)] * 2 + [0.0],
        [0.0] * 3,
    ]
    with pytest.raises(InputError, match="2 boxes but 1 scores"):
        boxes_to_score_map([(0, 0, 1, 1), (0, 0, 2, 2)], [0.5], 4)


def test_box_helpers_known_answers():
    np.testing.assert_array_equal(inclusive_to_edges([[2, 3, 4, 5]]), [[2, 3, 5, 6]])
    # an inclusive box rasterises to exactly its pixels
    m = boxes_to_score_map(inclusive_to_edges([[2, 3, 4, 5]]), [1.0], 8)
    assert m.sum() == 9 and m[3:6, 2:5].all()
    anchors = np.array([[0, 0, 10, 10], [0, 0, 20, 10]], np.float32)
    np.testing.assert_allclose(max_anchor_iou([[0, 0, 10, 10], [0, 0, 5, 10]], anchors), [1.0, 0.5])
    assert [default_max_level(s) for s in (32, 64, 128, 256, 1024)] == [4, 5, 6, 7, 7]


# --------------------------------------------------------------------------- U-Net


def toy_blobs(n: int = 60, size: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.normal(60, 15, size=(n, size, size))
    masks = np.zeros((n, size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for i in range(1, n, 2):
        cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
        r = rng.uniform(size / 10, size / 6)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        images[i][disk] += 60
        masks[i][disk] = 1
    return images.clip(0, 255).astype(np.uint8), masks


def test_unet_beats_average_mask_baseline(tmp_path):
    images, masks = toy_blobs()
    train_idx, val_idx, test_idx = np.arange(36), np.arange(36, 48), np.arange(48, 60)
    model, history = train_unet(
        images,
        masks,
        train_idx,
        val_idx,
        size=32,
        schedule=Schedule(10, 8, 1e-2, 4, 0),
        log=LOG,
        base_filters=4,
        depth=2,
    )
    assert {"loss", "val_loss", "val_dice"} <= set(history.columns)
    maps = predict_maps(model, images, test_idx, batch_size=5)
    assert maps.dtype == np.float32 and maps.shape == (12, 32, 32)
    assert 0.0 <= maps.min() and maps.max() <= 1.0
    avg = masks[np.r_[train_idx, val_idx]].mean(axis=0)
    positives = [j for j, i in enumerate(test_idx) if masks[i].any()]
    ap_unet = np.mean(
        [average_precision_score(masks[test_idx[j]].ravel(), maps[j].ravel()) for j in positives]
    )
    ap_avg = np.mean(
        [average_precision_score(masks[test_idx[j]].ravel(), avg.ravel()) for j in positives]
    )
    assert ap_unet > ap_avg + 0.3, (ap_unet, ap_avg)
    save_model(model, tmp_path / "unet.keras")
    np.testing.assert_array_equal(
        predict_maps(load_unet(tmp_path / "unet.keras"), images, test_idx, batch_size=5), maps
    )
    out = np.zeros((3, 32, 32), np.float32)
    assert predict_maps(model, images, test_idx[:3], out=out) is out
    np.testing.assert_allclose(out, maps[:3], rtol=1e-5, atol=1e-6)


def test_unet_rejects_bad_sizes():
    with pytest.raises(InputError, match="divisible by 8"):
        build_unet(36, depth=3)
    images, masks = toy_blobs(n=4)
    with pytest.raises(InputError, match="masks"):
        train_unet(
            images,
            masks[:, :16, :16],
            [0, 1],
            [2],
            size=32,
            schedule=Schedule(1, 2, 1e-3, 1, 0),
        )


# --------------------------------------------------------------------------- RetinaNet


def toy_boxes(n: int = 10, size: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.normal(60, 15, size=(n, size, size))
    boxes = []
    for i in range(n):
        if i % 2:
            x0, y0 = rng.integers(4, size - 28, size=2)
            w, h = rng.integers(14, 24, size=2)
            images[i, y0 : y0 + h, x0 : x0 + w] += 80
            boxes.append(np.array([[x0, y0, x0 + w - 1, y0 + h - 1]]))
        else:
            boxes.append(np.zeros((0, 4)))
    boxes[3] = np.vstack([boxes[3], [[0, 0, 15, 15]]])  # several boxes in one image
    return images.clip(0, 255).astype(np.uint8), boxes


def test_retinanet_builds_with_paper_head_init():
    model = build_retinanet(64, backbone="tiny", anchor_size=2.0, head_convs=1)
    assert model.backbone.max_level == 5
    cls_bias = np.asarray(model.classification_head.prediction_layer.bias)
    box_bias = np.asarray(model.box_head.prediction_layer.bias)
    np.testing.assert_allclose(cls_bias, -math.log((1 - CLASS_PRIOR) / CLASS_PRIOR), rtol=1e-6)
    assert not box_bias.any()
    with pytest.raises(InputError, match="valid"):
        build_retinanet(64, backbone="vgg")
    # nested BatchNormalization layers (inside the ResNet encoder) are reached
    assert set_bn_momentum(model, 0.5) > 0
    import keras

    bns = [la for la in model._flatten_layers() if isinstance(la, keras.layers.BatchNormalization)]
    assert bns and all(la.momentum == 0.5 for la in bns)
    with pytest.raises(InputError, match="bn_momentum"):
        set_bn_momentum(model, 1.0)


def test_retinanet_training_is_deterministic():
    images, boxes = toy_boxes()
    kw = dict(
        size=64,
        schedule=Schedule(1, 3, 1e-3, None, 3),
        log=LOG,
        backbone="tiny",
        anchor_size=2.0,
        head_convs=1,
        min_level=4,
    )
    m1, h1 = train_retinanet(images, boxes, np.arange(5), np.arange(5, 7), **kw)
    m2, h2 = train_retinanet(images, boxes, np.arange(5), np.arange(5, 7), **kw)
    assert h1.loc[0, "loss"] == h2.loc[0, "loss"]
    assert h1.loc[0, "val_loss"] == h2.loc[0, "val_loss"]
    for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert m1.backbone.min_level == 4 and len(h1) == 1


def test_retinanet_trains_one_step_and_predicts_maps(tmp_path):
    images, boxes = toy_boxes()
    model, history = train_retinanet(
        images,
        boxes,
        np.arange(4),
        np.arange(4, 6),
        size=64,
        schedule=Schedule(1, 4, 1e-3, None, 0),
        log=LOG,
        backbone="tiny",
        anchor_size=2.0,
        head_convs=1,
    )
    assert len(history) == 1 and np.isfinite(history.loc[0, ["loss", "val_loss"]]).all()
    idx = np.arange(5)  # not a multiple of the batch size
    maps = predict_score_maps(model, images, idx, score_threshold=0.0, batch_size=2)
    assert maps.dtype == np.float32 and maps.shape == (5, 64, 64)
    assert 0.0 <= maps.min() and maps.max() <= 1.0
    dets = predict_boxes(model, images, idx, score_threshold=0.0, batch_size=2)
    assert len(dets) == 5
    for j, (b, c) in enumerate(dets):
        np.testing.assert_array_equal(maps[j], boxes_to_score_map(b, c, 64))
    save_model(model, tmp_path / "retinanet.keras")
    loaded = load_retinanet(tmp_path / "retinanet.keras")
    np.testing.assert_allclose(
        predict_score_maps(loaded, images, idx, score_threshold=0.0, batch_size=2), maps, atol=1e-5
    )
    with pytest.raises(InputError, match="not_a_detector.keras"):
        save_model(build_unet(32, base_filters=2, depth=1), tmp_path / "not_a_detector.keras")
        load_retinanet(tmp_path / "not_a_detector.keras")
    with pytest.raises(InputError, match="inclusive"):
        bad = list(boxes)
        bad[1] = np.array([[10, 10, 5, 20]])
        train_retinanet(
            images,
            bad,
            [0, 1],
            [2],
            size=64,
            schedule=Schedule(1, 2, 1e-3, None, 0),
            backbone="tiny",
        )
