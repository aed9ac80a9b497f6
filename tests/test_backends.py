"""Model backends: one Keras model's maps under TensorFlow, JAX and PyTorch; PyTorch classifiers
(factory + state dict, TorchScript, torch.export) with known answers, the same maps as the
equivalent Keras model, randomization by module blocks; batch sizes and devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from saliency_audit.errors import InputError  # noqa: E402
from saliency_audit.preprocess import to_model_input  # noqa: E402
from saliency_audit.saliency import SaliencyEngine  # noqa: E402
from saliency_audit.saliency import paper_method_names as method_names  # noqa: E402
from saliency_audit.saliency.model_functions import ModelContext  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZE = 16


def images(n: int, size: int = SIZE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def all_maps(model, layer: str, imgs: np.ndarray, **engine_kw) -> dict[str, np.ndarray]:
    """Display maps of the paper's eight methods (Grad-CAM grids stretched: PyTorch modules
    have no cell alignment)."""
    ctx = ModelContext(model, gradcam_layer=layer, fixed_batch=8)
    out = {}
    for name in method_names():
        from saliency_audit.saliency import get_method

        method = get_method(name, **({"grid": "stretch"} if "GCAM" in name else {}))
        if name == "SG":
            method = get_method(name, nsamples=4)
        if name in ("IG", "XRAI"):
            method = get_method(name, steps=4)
        if name == "SIG":
            method = get_method(name, nsamples=2, steps=4)
        eng = SaliencyEngine(model, method, batch_size=8, context=ctx, **engine_kw)
        out[name] = eng.maps(imgs, range(len(imgs)), seed=3)
    return out


# ----------------------------------------------------------------------------- Keras backends


def keras_cnn(seed: int = 0):
    """``test_saliency.conv_model`` (Grad-CAM layer ``lastconv``) with non-trivial batch-norm
    statistics."""
    from test_saliency import conv_model

    model = conv_model(SIZE, seed=seed)
    bn = model.layers[3]
    bn.set_weights([w + 0.3 * np.random.default_rng(1).random(w.shape) for w in bn.get_weights()])
    return model


_CROSS = """
import json, sys
sys.modules["tensorflow"] = None  # the engine must not need TensorFlow here
import numpy as np, keras
sys.path.insert(0, sys.argv[4])
from test_backends import all_maps, images
model = keras.models.load_model(sys.argv[2], compile=False)
maps = all_maps(model, "lastconv", images(3))
np.savez(sys.argv[3], **maps)
print(json.dumps({"backend": keras.backend.backend()}))
"""


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_keras_maps_agree_across_tensorflow_jax_and_pytorch(tmp_path):
    """The same .keras model, every method, under each Keras backend (JAX and PyTorch in a
    process where TensorFlow cannot be imported): the same maps within float32 round-off."""
    missing = [m for m in ("jax", "torch") if not _installed(m)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (pip install -e '.[torch,jax]')")
    path = tmp_path / "cnn.keras"
    keras_cnn().save(path)
    assert keras.backend.backend() == "tensorflow"  # this process: the reference
    maps = {"tensorflow": all_maps(keras.models.load_model(path), "lastconv", images(3))}
    for backend in ("jax", "torch"):
        out = tmp_path / f"{backend}.npz"
        env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
        proc = subprocess.run(
            [sys.executable, "-c", _CROSS, backend, str(path), str(out), str(ROOT / "tests")],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert json.loads(proc.stdout.strip().splitlines()[-1])["backend"] == backend
        maps[backend] = dict(np.load(out))
    ref = maps["tensorflow"]
    assert set(ref) == set(method_names())
    for backend in ("jax", "torch"):
        diffs = {}
        for name, m in ref.items():
            assert m.max() > 0, name  # a real map, not all zero
            diffs[name] = float(np.abs(maps[backend][name] - m).max())
            assert diffs[name] < 1e-4, (backend, name, diffs[name])
        print(f"{backend} vs tensorflow, largest |difference| per method: {diffs}")


# ----------------------------------------------------------------------------- PyTorch models

try:
    import torch
except ImportError:  # pragma: no cover - the torch extra is not installed
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed (the torch extra)")


def torch_backend(module, **kw):
    from saliency_audit.backends.torch_model import TorchBackend

    return TorchBackend(module, size=kw.pop("size", SIZE), **kw)


@needs_torch
def test_linear_torch_model_gradient_is_its_weights():
    """f = w . ((x + 1) / 2 - mean) / std + b on one grey channel: d f / d x on each of our
    three input channels is w / (2 * std * 3) (the grey channel is their mean)."""
    torch.manual_seed(0)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(SIZE * SIZE, 1))
    backend = torch_backend(lin, channels=1, mean=0.4, std=0.25)
    eng = SaliencyEngine(backend, "GRAD", batch_size=4)
    x = to_model_input(images(2))
    raw = eng.raw(x, [0, 1])
    w = lin[1].weight.detach().numpy().reshape(SIZE, SIZE)
    expected = np.repeat((w / (2 * 0.25 * 3))[..., None], 3, axis=-1)
    np.testing.assert_allclose(raw[0], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(raw[1], expected, rtol=1e-5, atol=1e-7)
    # logits: the model's own output on the normalised grey image
    grey = ((x + 1) / 2).mean(-1)
    z = (grey.reshape(2, -1) - 0.4) / 0.25 @ w.reshape(-1) + lin[1].bias.item()
    np.testing.assert_allclose(backend.predict(x), z, rtol=1e-5)


def _torch_twin(keras_model):
    """The PyTorch module computing what ``keras_cnn`` computes (weights copied)."""
    from torch import nn

    c1, c2 = (keras_model.layers[i].get_weights()[0].shape[-1] for i in (1, 2))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, c1, 3, padding=1)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=0)
            self.bn = nn.BatchNorm2d(c2, eps=1e-3)
            self.relu2 = nn.ReLU()
            self.head = nn.Linear(c2, 1)

        def forward(self, x):
            x = self.relu1(self.conv1(x))
            x = nn.functional.pad(x, (0, 1, 0, 1))  # TensorFlow's "same" for stride 2
            x = self.relu2(self.bn(self.conv2(x)))
            return self.head(x.mean((2, 3)))

    twin = Twin()
    conv1, conv2, bn, dense = (keras_model.layers[i] for i in (1, 2, 3, 6))
    with torch.no_grad():
        for tconv, kconv in ((twin.conv1, conv1), (twin.conv2, conv2)):
            k, b = kconv.get_weights()
            tconv.weight.copy_(torch.as_tensor(k.transpose(3, 2, 0, 1)))
            tconv.bias.copy_(torch.as_tensor(b))
        gamma, beta, mean, var = bn.get_weights()
        twin.bn.weight.copy_(torch.as_tensor(gamma))
        twin.bn.bias.copy_(torch.as_tensor(beta))
        twin.bn.running_mean.copy_(torch.as_tensor(mean))
        twin.bn.running_var.copy_(torch.as_tensor(var))
        k, b = dense.get_weights()
        twin.head.weight.copy_(torch.as_tensor(k.T))
        twin.head.bias.copy_(torch.as_tensor(b))
    return twin.eval()


@needs_torch
def test_torch_module_gives_the_keras_twins_maps():
    """A PyTorch module with the weights of a Keras model (inputs [-1, 1]: mean 0.5, std 0.5
    on [0, 1] pixels) gives the same maps for all eight methods (Grad-CAM at the layer that
    corresponds; guided backpropagation through its nn.ReLU modules)."""
    kmodel = keras_cnn()
    twin = _torch_twin(kmodel)
    imgs = images(3)
    z_keras = kmodel.predict(to_model_input(imgs), verbose=0).reshape(-1)
    backend = torch_backend(twin, mean=0.5, std=0.5)
    np.testing.assert_allclose(backend.predict(to_model_input(imgs)), z_keras, atol=1e-4)
    k_maps = all_maps(kmodel, "lastconv", imgs)
    t_maps = all_maps(torch_backend(twin, mean=0.5, std=0.5, gradcam_layer="relu2"), None, imgs)
    for name in method_names():
        assert k_maps[name].max() > 0, name
        diff = float(np.abs(k_maps[name] - t_maps[name]).max())
        assert diff < 1e-3, (name, diff)


@needs_torch
def test_two_class_logits_are_explained_as_log_odds():
    """Class logits (z0, z1): the explained scalar of class 1 is z1 - z0, so GRAD is the
    difference of the two rows' gradients; three classes need output_class."""
    torch.manual_seed(1)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(SIZE * SIZE * 3, 2))
    backend = torch_backend(lin)
    raw = SaliencyEngine(backend, "GRAD", batch_size=2).raw(to_model_input(images(1)), [0])
    w = lin[1].weight.detach().numpy().reshape(2, 3, SIZE, SIZE).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(raw[0], (w[1] - w[0]) / 2, rtol=1e-5, atol=1e-7)
    three = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(SIZE * SIZE * 3, 3))
    with pytest.raises(InputError, match="output_class"):
        torch_backend(three).predict(to_model_input(images(1)))
    assert torch_backend(three, output_class=2).predict(to_model_input(images(1))).shape == (1,)


@needs_torch
def test_guided_backprop_needs_relu_modules_and_differs_from_the_gradient():
    kmodel = keras_cnn()
    twin = _torch_twin(kmodel)
    x = to_model_input(images(2))
    grad = SaliencyEngine(torch_backend(twin), "GRAD", batch_size=2).raw(x, [0, 1])
    gbp = SaliencyEngine(torch_backend(twin), "GBP", batch_size=2).raw(x, [0, 1])
    assert not np.allclose(grad, gbp)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(SIZE * SIZE * 3, 1))
    with pytest.raises(InputError, match="no nn.ReLU"):
        SaliencyEngine(torch_backend(lin), "GBP", batch_size=2)


@needs_torch
def test_torchscript_and_export_files(tmp_path):
    """The same module saved as TorchScript and as a torch.export program (dynamic batch):
    gradients equal the module's; Grad-CAM reads a module of the exported program; TorchScript
    has no hooks and says so; a state dict without a factory is refused naming the file."""
    from saliency_audit.backends import open_classifier

    twin = _torch_twin(keras_cnn())
    script, program, state = tmp_path / "m.pt", tmp_path / "m.pt2", tmp_path / "m.pth"
    torch.jit.script(twin).save(str(script))
    batch = torch.export.Dim("batch", min=1, max=1024)
    example = torch.zeros(2, 3, SIZE, SIZE)
    ep = torch.export.export(twin, (example,), dynamic_shapes={"x": {0: batch}})
    torch.export.save(ep, str(program))
    torch.save(twin.state_dict(), state)
    x = to_model_input(images(3))
    spec = {"torch": {"mean": 0.5, "std": 0.5, "gradcam_layer": "relu2"}}
    expected = SaliencyEngine(torch_backend(twin, mean=0.5, std=0.5), "GRAD", batch_size=4).raw(
        x, [0, 1, 2]
    )
    for path, fmt in ((script, "torchscript"), (program, "export")):
        backend = open_classifier(path, size=SIZE, spec=spec)
        assert backend.fmt == fmt
        raw = SaliencyEngine(backend, "GRAD", batch_size=4).raw(x, [0, 1, 2])
        np.testing.assert_allclose(raw, expected, rtol=1e-4, atol=1e-6)
    gcam = SaliencyEngine(open_classifier(program, size=SIZE, spec=spec), "GCAM", batch_size=4)
    assert gcam.raw(x, [0, 1, 2]).max() > 0
    with pytest.raises(InputError, match="TorchScript model has no hooks"):
        SaliencyEngine(open_classifier(script, size=SIZE, spec=spec), "GCAM", batch_size=4)
    with pytest.raises(InputError, match=r"m\.pth.*factory"):
        open_classifier(state, size=SIZE, spec=spec)


@needs_torch
def test_torch_factory_spec_and_bad_layer(tmp_path):
    from saliency_audit.backends import open_classifier
    from saliency_audit.models.torch_examples import small_cnn

    torch.manual_seed(0)
    path = tmp_path / "small.pth"
    torch.save(small_cnn().state_dict(), path)
    factory = "saliency_audit.models.torch_examples:small_cnn"
    spec = {"torch": {"factory": factory, "channels": 1, "gradcam_layer": "features.7"}}
    backend = open_classifier(path, size=SIZE, spec=spec)
    assert backend.fmt == "factory" and backend.parameters() == sum(
        p.numel() for p in small_cnn().parameters()
    )
    x = to_model_input(images(2))
    assert SaliencyEngine(backend, "GCAM", batch_size=2).raw(x, [0, 1]).shape == (2, SIZE, SIZE, 1)
    assert np.abs(SaliencyEngine(backend, "GRAD", batch_size=2).raw(x, [0, 1])).max() > 0
    bad = {"torch": {**spec["torch"], "gradcam_layer": "features.99"}}
    with pytest.raises(InputError, match="features.99.*not a module path"):
        SaliencyEngine(open_classifier(path, size=SIZE, spec=bad), "GCAM", batch_size=2)
    wrong = {"torch": {"factory": factory, "factory_args": {"width": 4}}}
    with pytest.raises(InputError, match="does not fit"):
        open_classifier(path, size=SIZE, spec=wrong)
    with pytest.raises(InputError, match="cannot import"):
        open_classifier(path, size=SIZE, spec={"torch": {"factory": "no_such_module:f"}})


@needs_torch
def test_torch_randomization_by_module_blocks():
    """Each block re-drawn by its modules' reset_parameters(), seeded per (block, module): the
    same values whichever step draws it, other blocks untouched, trained weights restored."""
    from saliency_audit.models.randomize import randomization_steps
    from saliency_audit.models.torch_examples import small_cnn

    torch.manual_seed(0)
    model = small_cnn()
    blocks = ["head", "features.6", "features.3", "features.0"]
    backend = torch_backend(model, channels=1, blocks=blocks)
    steps = randomization_steps(backend.block_names(), owner="small")
    assert [s.name for s in steps][:4] == [
        "cascade_head",
        "cascade_features_6",
        "cascade_features_3",
        "cascade_features_0",
    ]
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    cascade = {s.name: s for s in steps}["cascade_features_3"]
    with backend.randomized(cascade.blocks, seed=5) as info:
        assert info["weights"] == 6  # weight and bias of head, features.6, features.3
        after_cascade = {k: v.clone() for k, v in model.state_dict().items()}
    for k, v in model.state_dict().items():
        assert torch.equal(v, trained[k]), k
    assert not torch.equal(after_cascade["head.weight"], trained["head.weight"])
    assert not torch.equal(after_cascade["features.3.weight"], trained["features.3.weight"])
    assert torch.equal(after_cascade["features.0.weight"], trained["features.0.weight"])
    assert torch.equal(after_cascade["features.4.weight"], trained["features.4.weight"])
    with backend.randomized(["features"], seed=5) as info:  # a whole stage: BN reset too
        assert info["weights"] == 3 * 2 + 2 * (2 + 3)  # convs; BN weight, bias and 3 buffers
        assert float(model.features[4].running_var.min()) == 1.0
    with backend.randomized(["features.3"], seed=5):
        alone = model.features[3].weight.detach().clone()
    assert torch.equal(alone, after_cascade["features.3.weight"])
    with backend.randomized(["features.3"], seed=6):
        assert not torch.equal(model.features[3].weight, alone)
    with pytest.raises(InputError, match="no randomization blocks"):
        randomization_steps([], owner="small")


# ----------------------------------------------------------------------------- devices, batches


def test_auto_batch_on_a_cpu_is_the_default_and_bad_devices_are_named():
    from saliency_audit.backends.device import CPU_BATCH, auto_batch
    from saliency_audit.backends.keras_model import KerasBackend

    assert auto_batch(KerasBackend(keras_cnn(), gradcam_layer="lastconv")) == CPU_BATCH
    if torch is not None:
        from saliency_audit.backends.device import torch_device

        if not torch.cuda.is_available():
            assert str(torch_device("auto")) == "cpu"
            with pytest.raises(InputError, match="no CUDA device"):
                torch_device("cuda:0")
