"""Weight randomization: which layers change, seeds, restoration, and the maps it feeds."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from saliency_audit.backends.keras_model import KerasBackend  # noqa: E402
from saliency_audit.errors import InputError  # noqa: E402
from saliency_audit.jobs.saliency import MapTask, _engine  # noqa: E402
from saliency_audit.models.classifier import build_classifier  # noqa: E402
from saliency_audit.models.randomize import (  # noqa: E402
    randomization_steps,
    randomized,
    reinitialize,
)
from saliency_audit.models.registry import block_layers  # noqa: E402
from saliency_audit.saliency.model_functions import ModelContext  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(3)
    model = build_classifier("tiny", 32)
    # move every weight away from its initial value so a re-draw is visible
    for var in model.weights:
        var.assign(np.asarray(var) + 0.37)
    return model


def _weights(model):
    return {v.path: np.array(v) for v in model.weights}


def test_steps_cascade_and_independent():
    steps = randomization_steps("tiny")
    names = [s.name for s in steps]
    assert names == [
        "cascade_logits",
        "cascade_block2",
        "cascade_block1",
        "cascade_stem",
        "independent_logits",
        "independent_block2",
        "independent_block1",
        "independent_stem",
    ]
    assert steps[2].blocks == ("logits", "block2", "block1")
    assert steps[6].blocks == ("block1",)
    chosen = randomization_steps("inceptionv3", ["stem", "logits", "mixed5"], independent=False)
    assert [s.name for s in chosen] == ["cascade_logits", "cascade_mixed5", "cascade_stem"]
    assert len(chosen[-1].blocks) == 13  # logits, mixed10..mixed0, stem: fully random
    with pytest.raises(InputError, match="randomization.blocks.*'mixed99'.*inceptionv3"):
        randomization_steps("inceptionv3", ["mixed99"])


def test_cascade_changes_exactly_its_blocks_and_restores(tiny):
    before = _weights(tiny)
    parts = block_layers(tiny, "tiny")
    step = randomization_steps("tiny")[1]  # cascade_block2: logits + block2
    changed_layers = {la.name for b in step.blocks for la in parts[b]}
    with randomized(tiny, "tiny", step, seed=11) as info:
        during = _weights(tiny)
        assert info["weights"] == sum(len(la.weights) for b in step.blocks for la in parts[b])
    for path, value in before.items():
        layer = path.split("/")[0]
        if layer in changed_layers:
            assert not np.allclose(during[path], value), path
        else:
            np.testing.assert_array_equal(during[path], value)
    after = _weights(tiny)
    for path, value in before.items():
        np.testing.assert_array_equal(after[path], value)


def test_redraw_is_seeded_per_block_and_uses_initializers(tiny):
    parts = block_layers(tiny, "tiny")
    steps = {s.name: s for s in randomization_steps("tiny")}
    with randomized(tiny, "tiny", steps["cascade_stem"], seed=5):
        full = _weights(tiny)
    with randomized(tiny, "tiny", steps["independent_block1"], seed=5):
        alone = _weights(tiny)
    with randomized(tiny, "tiny", steps["independent_block1"], seed=6):
        other = _weights(tiny)
    for layer in parts["block1"]:
        for v in layer.weights:
            # same block, same seed -> same values whichever step re-draws it
            np.testing.assert_array_equal(full[v.path], alone[v.path])
            if v.path.endswith("kernel"):
                assert not np.array_equal(alone[v.path], other[v.path])
            if v.path.endswith("bias"):  # zeros initializer
                np.testing.assert_array_equal(alone[v.path], 0.0)


def test_batchnorm_statistics_are_reset():
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inp, x)
    bn = model.get_layer("bn")
    bn.set_weights([np.full(4, 3.0), np.full(4, 2.0), np.full(4, 1.5), np.full(4, 9.0)])
    reinitialize([bn], seed=1)
    gamma, beta, mean, var = bn.get_weights()
    np.testing.assert_array_equal(gamma, 1.0)
    np.testing.assert_array_equal(beta, 0.0)
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(var, 1.0)


def test_maps_follow_the_randomized_weights_without_retracing(tiny, tmp_path):
    """A shared context sees weights changed in place by the backend (also GBP's guided
    copy), and the backend re-draws what ``randomized`` re-draws."""
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    backend = KerasBackend(tiny, gradcam_layer="block2_out", arch="tiny")
    ctx = ModelContext(backend, fixed_batch=8)
    engines = {m: _engine(ctx, MapTask(m, "", ""), batch_size=8) for m in ("GRAD", "GBP", "GCAM")}
    trained = {m: e.maps(imgs, [0, 1, 2], seed=1) for m, e in engines.items()}
    traces = ctx.trace_count
    step = randomization_steps("tiny")[-5]  # cascade_stem: fully random
    with randomized(tiny, "tiny", step, seed=2):
        drawn = [np.array(v) for v in tiny.weights]
    with backend.randomized(step.blocks, seed=2):
        for var, value in zip(tiny.weights, drawn, strict=True):
            np.testing.assert_array_equal(np.array(var), value)
        rand = {m: e.maps(imgs, [0, 1, 2], seed=1) for m, e in engines.items()}
    again = {m: e.maps(imgs, [0, 1, 2], seed=1) for m, e in engines.items()}
    assert ctx.trace_count == traces  # no retracing for new weights
    for m in engines:
        assert np.abs(rand[m] - trained[m]).max() > 0.05, m
        np.testing.assert_allclose(again[m], trained[m], atol=1e-6, err_msg=m)
