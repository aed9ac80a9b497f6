"""Classifier registry, training, bring-your-own loading and evaluation (tiny, CPU)."""

from __future__ import annotations

import logging
import math
import re

import keras
import numpy as np
import pytest

from saliency_audit.errors import InputError
from saliency_audit.models._loop import Batches, FusedAdam, Schedule
from saliency_audit.models.classifier import (
    PositiveLogit,
    build_classifier,
    load_classifier,
    predict_logits,
    save_model,
    set_bn_momentum,
    train_classifier,
)
from saliency_audit.models.evaluate import auroc_with_ci, evaluation_table
from saliency_audit.models.registry import (
    ARCHITECTURES,
    Architecture,
    block_layers,
    get_architecture,
)
from saliency_audit.models.tf_setup import configure_tensorflow, graph_optimizer_off

SIZE = 32


@pytest.fixture(scope="module", autouse=True)
def _tf():
    configure_tensorflow(None, deterministic=True, seed=0)


def toy_blobs(n: int = 60, size: int = SIZE, seed: int = 0):
    """uint8 noise images; odd rows carry a bright disk (label 1) whose mask is returned."""
    rng = np.random.default_rng(seed)
    images = rng.normal(60, 15, size=(n, size, size))
    labels = np.arange(n) % 2
    masks = np.zeros((n, size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for i in np.flatnonzero(labels):
        cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
        r = rng.uniform(size / 10, size / 6)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        images[i][disk] += 100
        masks[i][disk] = 1
    return images.clip(0, 255).astype(np.uint8), labels, masks


SPLIT = (np.arange(0, 36), np.arange(36, 48), np.arange(48, 60))


def _train(images, labels, seed, epochs=12):
    train_idx, val_idx, _ = SPLIT
    return train_classifier(
        images,
        labels,
        train_idx,
        val_idx,
        arch="tiny",
        size=SIZE,
        schedule=Schedule(epochs, 8, 1e-2, 4, seed),
        log=logging.getLogger("test"),
    )


# --------------------------------------------------------------------------- training


def test_tiny_classifier_learns_and_is_seeded(caplog):
    images, labels, _ = toy_blobs()
    test_idx = SPLIT[2]
    with caplog.at_level(logging.INFO, logger="test"):
        model, history = _train(images, labels, seed=1)
    z1 = predict_logits(model, images, test_idx, batch_size=5)
    assert z1.dtype == np.float32 and z1.shape == (len(test_idx),)
    assert auroc_with_ci(labels[test_idx], z1, n_boot=100, seed=0)["auroc"] >= 0.9
    # history and one log line per epoch
    assert list(history.columns[:4]) == ["epoch", "loss", "val_loss", "val_auroc"]
    assert {"seconds", "images_per_s", "best"} <= set(history.columns)
    epoch_lines = [r for r in caplog.records if re.search(r" epoch \d+/\d+ ", r.getMessage())]
    assert len(epoch_lines) == len(history)
    assert "val_auroc=" in epoch_lines[0].getMessage()
    assert "images/s" in epoch_lines[0].getMessage()
    # early stopping restored the best epoch: its val_loss is what the model gives now
    from saliency_audit.models.classifier import bce_from_logits

    zval = predict_logits(model, images, SPLIT[1])
    assert math.isclose(
        bce_from_logits(labels[SPLIT[1]], zval), history["val_loss"].min(), rel_tol=1e-4
    )

    model_b, _ = _train(images, labels, seed=1)
    z1b = predict_logits(model_b, images, test_idx)
    assert np.array_equal(z1, z1b)  # bitwise on CPU
    model_c, _ = _train(images, labels, seed=2)
    assert not np.array_equal(z1, predict_logits(model_c, images, test_idx))


def test_train_classifier_rejects_bad_input():
    images, labels, _ = toy_blobs(n=12)
    with pytest.raises(InputError, match="both classes"):
        train_classifier(
            images,
            labels,
            [0, 2, 4],
            [1],
            arch="tiny",
            size=SIZE,
            schedule=Schedule(1, 4, 1e-3, 1, 0),
        )
    with pytest.raises(InputError, match="row indices"):
        train_classifier(
            images,
            labels,
            [0, 1, 99],
            [2],
            arch="tiny",
            size=SIZE,
            schedule=Schedule(1, 4, 1e-3, 1, 0),
        )
    with pytest.raises(InputError, match="px"):
        train_classifier(
            images,
            labels,
            [0, 1],
            [2],
            arch="tiny",
            size=64,
            schedule=Schedule(1, 4, 1e-3, 1, 0),
        )


def test_augment_is_seeded_and_bounded():
    from saliency_audit.models.classifier import _augment
    from saliency_audit.preprocess import to_model_input

    images, _, _ = toy_blobs(n=4)
    x = to_model_input(images)
    a = _augment(x, np.random.default_rng(5))
    assert a.shape == x.shape and a.dtype == np.float32
    assert a.min() >= -1.0 and a.max() <= 1.0 and not np.array_equal(a, x)
    np.testing.assert_array_equal(a, _augment(x, np.random.default_rng(5)))
    model, history = train_classifier(
        images,
        np.array([0, 1, 0, 1]),
        [0, 1],
        [2, 3],
        arch="tiny",
        size=SIZE,
        schedule=Schedule(1, 2, 1e-3, None, 0),
        augment=True,
    )
    assert len(history) == 1


def _build_tiny_bn(inputs, weights_path=None):
    """A tiny CNN with BatchNormalization, for the BN-momentum and determinism tests."""
    from keras import layers

    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="block1_conv")(x)
    x = layers.BatchNormalization(name="block1_bn")(x)
    x = layers.ReLU(name="block1_out")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, x)


@pytest.fixture
def tiny_bn(monkeypatch):
    arch = Architecture(
        name="tinybn",
        build_backbone=_build_tiny_bn,
        min_size=8,
        gradcam_layer="block1_out",
        blocks=(("logits", None), ("block1", "block1_out"), ("stem", "stem_pool")),
        supports_weights=False,
    )
    monkeypatch.setitem(ARCHITECTURES, "tinybn", arch)
    return arch


def test_bn_momentum_training_is_seeded_and_saved(tiny_bn, tmp_path):
    images, labels, _ = toy_blobs()
    train_idx, val_idx, test_idx = SPLIT

    def train(seed, **kw):
        return train_classifier(
            images,
            labels,
            train_idx,
            val_idx,
            arch="tinybn",
            size=SIZE,
            schedule=Schedule(3, 8, 1e-2, None, seed),
            **kw,
        )

    model, history = train(3)
    bns = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert len(bns) == 2 and all(la.momentum == 0.5 for la in bns)  # the default
    z = predict_logits(model, images, test_idx)
    assert auroc_with_ci(labels[test_idx], z, n_boot=50, seed=0)["auroc"] >= 0.9
    # 36 training images, batches of 8: 4 full batches, the last 4 images left out each epoch
    assert (history["images_per_s"] > 0).all()
    again, _ = train(3)
    assert np.array_equal(z, predict_logits(again, images, test_idx))  # bitwise, BN included
    # the momentum is part of the saved model
    loaded = load_classifier(_save(model, tmp_path / "bn.keras"), size=SIZE)
    assert [
        la.momentum for la in loaded.layers if isinstance(la, keras.layers.BatchNormalization)
    ] == [0.5, 0.5]
    assert np.array_equal(z, predict_logits(loaded, images, test_idx))
    keras_default, _ = train(3, bn_momentum=None)
    assert keras_default.get_layer("stem_bn").momentum == 0.99


def test_set_bn_momentum():
    model = build_classifier("densenet121", 32, bn_momentum=0.7)
    bns = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert len(bns) == 121 and {la.momentum for la in bns} == {0.7}
    assert set_bn_momentum(model, 0.0) == 121
    assert set_bn_momentum(build_classifier("tiny", SIZE), 0.5) == 0
    with pytest.raises(InputError, match="bn_momentum"):
        set_bn_momentum(model, 1.0)


def test_batches_drop_remainder_gives_one_shape():
    def make_batch(rows, rng):
        return rows, rows

    full = Batches(np.arange(10), 4, make_batch, shuffle=True, seed=0)
    assert len(full) == 3 and len(full[2][0]) == 2
    fixed = Batches(np.arange(10), 4, make_batch, shuffle=True, seed=0, drop_remainder=True)
    assert len(fixed) == 2
    fixed.set_epoch(1)
    seen1 = np.concatenate([fixed[i][0] for i in range(len(fixed))])
    fixed.set_epoch(2)
    seen2 = np.concatenate([fixed[i][0] for i in range(len(fixed))])
    assert len(seen1) == len(seen2) == 8 and len(set(seen1)) == 8
    assert set(seen1) != set(seen2)  # a different remainder is left out each epoch
    small = Batches(np.arange(3), 8, make_batch, drop_remainder=True)
    assert small.batch_size == 3 and len(small) == 1


def test_predict_logits_pads_to_one_shape():
    images, _, _ = toy_blobs(n=12)
    model = build_classifier("tiny", SIZE)
    idx = np.arange(12)[::-1]
    z = predict_logits(model, images, idx, batch_size=5)  # batches 5, 5, 2 (+3 zero images)
    assert model.predict_function.experimental_get_tracing_count() == 1
    from saliency_audit.preprocess import to_model_input

    want = np.asarray(model(to_model_input(images[idx]), training=False))[:, 0]
    np.testing.assert_allclose(z, want, rtol=1e-5, atol=1e-6)
    assert predict_logits(model, images, [], batch_size=5).shape == (0,)
    with pytest.raises(InputError, match="batch_size"):
        predict_logits(model, images, idx, batch_size=0)


def test_fused_adam_matches_keras_adam():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)

    def fit(optimizer):
        keras.utils.set_random_seed(0)
        inp = keras.Input((5,))
        model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Dense(4)(inp)))
        optimizer.build(model.trainable_variables)
        model.compile(optimizer=optimizer, loss=keras.losses.BinaryCrossentropy(from_logits=True))
        for _ in range(5):
            model.train_on_batch(x, y)
        return model.get_weights()

    want = fit(keras.optimizers.Adam(0.05))
    got = fit(FusedAdam(0.05))
    assert not np.allclose(got[0], fit(keras.optimizers.SGD(0.05))[0])
    for a, b in zip(got, want, strict=True):  # same algorithm, float32 rounding apart
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    fallback = fit(FusedAdam(0.05, amsgrad=True))  # not fused: the Keras update itself
    for a, b in zip(fallback, fit(keras.optimizers.Adam(0.05, amsgrad=True)), strict=True):
        np.testing.assert_array_equal(a, b)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(FusedAdam(0.05))
    )
    assert isinstance(restored, FusedAdam)
    assert math.isclose(float(restored.learning_rate), 0.05, rel_tol=1e-6)


def test_graph_optimizer_off_restores_options():
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    with graph_optimizer_off():
        assert tf.config.optimizer.get_experimental_options()["disable_meta_optimizer"]
    assert (
        tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
        == before
    )


# --------------------------------------------------------------------------- registry


def test_unknown_architecture_lists_valid_names():
    with pytest.raises(InputError) as err:
        get_architecture("resnet9000")
    for name in ARCHITECTURES:
        assert name in str(err.value)
    assert get_architecture("InceptionV3").name == "inceptionv3"


def _check_partition(model, arch):
    blocks = block_layers(model, arch)
    assert list(blocks) == arch.block_names
    owners: dict[int, list[str]] = {}
    for name, layers in blocks.items():
        for layer in layers:
            owners.setdefault(id(layer), []).append(name)
    for layer in [la for la in model.layers if la.weights]:
        assert len(owners.get(id(layer), [])) == 1, (layer.name, owners.get(id(layer)))
    assert all(len(v) == 1 for v in owners.values())
    # top-down: every layer of a higher block comes after every layer of the block below it
    position = {id(layer): i for i, layer in enumerate(model.layers)}
    names = arch.block_names
    for upper, lower in zip(names, names[1:], strict=False):
        assert min(position[id(x)] for x in blocks[upper]) > max(
            position[id(x)] for x in blocks[lower]
        ), (upper, lower)
    assert [la.name for la in blocks[names[0]]][-1] == "logits"
    return blocks


@pytest.mark.parametrize("name,size", [("inceptionv3", 75), ("densenet121", 32)])
def test_keras_application_classifiers(name, size):
    arch = get_architecture(name)
    model = build_classifier(name, size)
    assert model.input_shape == (None, size, size, 3)
    assert model.output_shape == (None, 1)
    assert model.get_layer("logits").units == 1
    assert len(model.get_layer(arch.gradcam_layer).output.shape) == 4
    blocks = _check_partition(model, arch)
    stem_convs = [la.name for la in blocks["stem"] if isinstance(la, keras.layers.Conv2D)]
    if name == "inceptionv3":
        assert arch.block_names == ["logits", *(f"mixed{k}" for k in range(10, -1, -1)), "stem"]
        assert len(stem_convs) == 5  # the InceptionV3 stem: 5 convolutions before mixed0
        assert {la.name for la in blocks["mixed9"]} >= {"mixed9", "mixed9_0"}
        assert "mixed9_1" in {la.name for la in blocks["mixed10"]}
    else:
        assert arch.block_names == [
            "classifier",
            "dense_block4",
            "dense_block3",
            "dense_block2",
            "dense_block1",
            "stem",
        ]
        assert stem_convs == ["conv1_conv"]
        assert all(la.name.startswith(("conv5_", "bn", "relu")) for la in blocks["dense_block4"])
        assert {la.name.split("_")[0] for la in blocks["dense_block1"]} == {"conv2", "pool2"}
    with pytest.raises(InputError, match=str(arch.min_size)):
        build_classifier(name, arch.min_size - 1)


def test_tiny_partition_and_gradcam_layer():
    arch = get_architecture("tiny")
    model = build_classifier("tiny", SIZE)
    blocks = _check_partition(model, arch)
    assert [la.name for la in blocks["stem"]] == ["stem_conv", "stem_pool"]
    assert model.get_layer(arch.gradcam_layer).output.shape == (None, SIZE // 4, SIZE // 4, 32)


def test_weights_file_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        build_classifier("inceptionv3", 75, weights_path=tmp_path / "missing.h5")
    tiny = build_classifier("tiny", SIZE)
    wrong = tmp_path / "tiny.weights.h5"
    tiny.save_weights(wrong)
    with pytest.raises(InputError, match="tiny.weights.h5.*densenet121"):
        build_classifier("densenet121", 32, weights_path=wrong)
    with pytest.raises(InputError, match="no ImageNet weights"):
        build_classifier("tiny", SIZE, weights_path=wrong)
    # a compatible local backbone file is loaded into the classifier's backbone layers
    backbone = keras.applications.DenseNet121(
        include_top=False, weights=None, pooling="avg", input_shape=(32, 32, 3)
    )
    good = tmp_path / "densenet_notop.weights.h5"
    backbone.save_weights(good)
    model = build_classifier("densenet121", 32, weights_path=good)
    for name in ("conv1_conv", "conv5_block16_2_conv", "bn"):
        for got, want in zip(
            model.get_layer(name).weights, backbone.get_layer(name).weights, strict=True
        ):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


# --------------------------------------------------------------------------- save / load


def _save(model, path):
    save_model(model, path)
    return path


def test_byo_model_round_trip_and_rejections(tmp_path):
    images, _, _ = toy_blobs(n=6)
    model = build_classifier("tiny", SIZE)
    path = _save(model, tmp_path / "ok.keras")
    assert not list(tmp_path.glob(".tmp-*"))
    loaded = load_classifier(path, size=SIZE)
    idx = np.arange(6)
    assert np.array_equal(predict_logits(model, images, idx), predict_logits(loaded, images, idx))

    with pytest.raises(InputError, match=r"ok\.keras.*64 px"):
        load_classifier(path, size=64)

    flat_in = keras.Input((16,))
    flat = keras.Model(flat_in, keras.layers.Dense(1)(flat_in))
    bad = _save(flat, tmp_path / "flat_input.keras")
    with pytest.raises(InputError, match=r"flat_input\.keras.*input shape.*\(None, 16\)"):
        load_classifier(bad)

    img_in = keras.Input((SIZE, SIZE, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(img_in)
    three = keras.Model(img_in, keras.layers.Dense(3)(pooled))
    bad = _save(three, tmp_path / "three_outputs.keras")
    with pytest.raises(InputError, match=r"three_outputs\.keras.*\(None, 3\)"):
        load_classifier(bad)

    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="junk.keras"):
        load_classifier(junk)
    with pytest.raises(InputError, match="not found"):
        load_classifier(tmp_path / "absent.keras")
    with pytest.raises(InputError, match=".keras"):
        save_model(model, tmp_path / "model.h5")


def test_byo_two_class_and_sigmoid_outputs_become_one_logit(tmp_path):
    images, _, _ = toy_blobs(n=4)
    x = images[:4]
    img_in = keras.Input((SIZE, SIZE, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(img_in)
    dense = keras.layers.Dense(2, name="two")
    z = dense(pooled)
    raw = keras.Model(img_in, z)
    soft = keras.Model(img_in, keras.layers.Softmax()(z))
    sig = keras.Model(img_in, keras.layers.Dense(1, activation="sigmoid")(pooled))

    from saliency_audit.preprocess import to_model_input

    zz = np.asarray(raw.predict_on_batch(to_model_input(x)))
    idx = np.arange(4)
    got_raw = predict_logits(load_classifier(_save(raw, tmp_path / "raw.keras")), images, idx)
    np.testing.assert_allclose(got_raw, zz[:, 1], rtol=1e-5, atol=1e-6)
    soft_model = load_classifier(_save(soft, tmp_path / "soft.keras"))
    assert isinstance(soft_model.layers[-1], PositiveLogit)
    assert soft_model.output_shape == (None, 1)
    got_soft = predict_logits(soft_model, images, idx)
    np.testing.assert_allclose(got_soft, zz[:, 1] - zz[:, 0], rtol=1e-4, atol=1e-5)
    p = np.asarray(sig.predict_on_batch(to_model_input(x)))[:, 0]
    got_sig = predict_logits(load_classifier(_save(sig, tmp_path / "sig.keras")), images, idx)
    np.testing.assert_allclose(got_sig, np.log(p / (1 - p)), rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- evaluation


def test_auroc_bootstrap_ci():
    rng = np.random.default_rng(3)
    labels = np.r_[np.zeros(40), np.ones(40)].astype(int)
    scores = labels + rng.normal(0, 1.0, size=80)
    a = auroc_with_ci(labels, scores, n_boot=300, seed=7)
    b = auroc_with_ci(labels, scores, n_boot=300, seed=7)
    c = auroc_with_ci(labels, scores, n_boot=300, seed=8)
    assert a == b
    assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])
    assert a["ci_low"] <= a["auroc"] <= a["ci_high"]
    assert 0.6 < a["auroc"] < 0.9 and a["ci_high"] - a["ci_low"] > 0.05
    assert a["n_boot"] == 300 and a["n"] == 80
    # perfect separation: degenerate CI at 1
    perfect = auroc_with_ci([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], n_boot=200, seed=0)
    assert perfect["auroc"] == perfect["ci_low"] == perfect["ci_high"] == 1.0
    # resamples without a positive are skipped: one positive among 10
    rare = auroc_with_ci([0] * 9 + [1], np.arange(10.0), n_boot=500, seed=0)
    assert 0 < rare["n_boot"] < 500
    with pytest.raises(InputError, match="one class"):
        auroc_with_ci([1, 1, 1], [0.1, 0.2, 0.3])


def test_evaluation_table():
    table = evaluation_table(["a", "b", "c"], [0, 1, 1], [0.0, 2.0, -800.0])
    assert list(table.columns) == ["image_id", "label", "logit", "probability"]
    np.testing.assert_allclose(
        table["probability"], [0.5, 1 / (1 + math.exp(-2.0)), 0.0], atol=1e-12
    )
    assert table["image_id"].tolist() == ["a", "b", "c"]
    with pytest.raises(InputError, match="differ in length"):
        evaluation_table(["a"], [0, 1], [0.0, 1.0])
