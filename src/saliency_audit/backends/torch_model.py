"""A PyTorch classifier brought by the user: an ``nn.Module`` (a factory plus a state dict), a
TorchScript archive or a ``torch.export`` program.

The module takes ``(N, C, S, S)`` float32 (``C`` = 3 or 1) with a stated normalisation and
returns one positive logit ``(N,)`` / ``(N, 1)`` or class logits ``(N, K)``. The backend feeds
it from our model inputs ``(N, S, S, 3)`` in [-1, 1]: pixels to [0, 1], one grey channel when
``C`` = 1, ``(x - mean) / std``, channels first, all inside the differentiated function, so
gradients are with respect to the same inputs as a Keras model's. With class logits the
explained scalar is the log-odds of class ``k`` (``output_class``), ``z_k - logsumexp(z_j, j !=
k)``: for two classes ``z_1 - z_0``, as for a two-column Keras model.

What each format gives (a hook needs a Python module tree):

================  =========  ==========  ==================  ===========================
format            gradients  Grad-CAM    guided ReLUs        randomization
================  =========  ==========  ==================  ===========================
factory + state   yes        yes         ``nn.ReLU`` modules ``reset_parameters()``
``torch.export``  yes        yes         no (ReLUs are ops)  no
TorchScript       yes        no          no                  no
================  =========  ==========  ==================  ===========================

Guided backpropagation guides every ``nn.ReLU`` module (a forward hook passes its output through
an identity whose backward keeps ``relu(dy)`` where the output is positive); ReLUs called as
functions (``F.relu``) are ordinary ReLUs there.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from saliency_audit.backends.base import KINDS, ModelBackend
from saliency_audit.errors import InputError
from saliency_audit.seeds import derive_seed

FORMATS = ("factory", "export", "torchscript")


def require_torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError(
            "a PyTorch classifier needs torch: pip install -e '.[torch]' "
            "(CPU build: pip install torch==2.13.0)"
        ) from None
    return torch


def import_factory(spec: str):
    """``package.module:function`` or ``path/to/file.py:function`` -> the callable."""
    module_name, sep, attr = str(spec).rpartition(":")
    if not sep or not module_name or not attr:
        raise InputError(
            f"torch factory {spec!r}: expected 'module:function' or 'file.py:function'"
        )
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise InputError(f"torch factory {spec!r}: {path} not found")
            loaded = importlib.util.spec_from_file_location(f"_factory_{path.stem}", path)
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"torch factory {spec!r}: cannot import {module_name} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise InputError(f"torch factory {spec!r}: {module_name} has no callable {attr!r}")
    return fn


def load_module(path, *, factory: str | None = None, factory_args: dict | None = None):
    """``(module, format)`` of a model file: with ``factory``, ``factory(**factory_args)``
    with the file's state dict loaded; else a TorchScript archive or a ``torch.export``
    program (told apart by their content)."""
    torch = require_torch()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    if factory:
        module = import_factory(factory)(**(factory_args or {}))
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - report the file
            raise InputError(f"{path}: cannot read a state dict ({exc})") from None
        if isinstance(state, dict) and "state_dict" in state and len(state) <= 3:
            state = state["state_dict"]
        try:
            module.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - report the file
            raise InputError(f"{path}: state dict does not fit {factory} ({exc})") from None
        return module, "factory"
    errors = []
    try:
        return torch.jit.load(str(path), map_location="cpu"), "torchscript"
    except Exception as exc:  # noqa: BLE001 - try the next format
        errors.append(f"TorchScript: {exc}".splitlines()[0])
    try:
        return torch.export.unflatten(torch.export.load(str(path))), "export"
    except Exception as exc:  # noqa: BLE001 - report the file
        errors.append(f"torch.export: {exc}".splitlines()[0])
    raise InputError(
        f"{path}: neither a TorchScript archive nor a torch.export program "
        f"({'; '.join(errors)}); a state dict needs 'factory' (module:function building the "
        "nn.Module)"
    )


class _GuidedIdentity:
    """Identity forward; backward ``relu(dy)`` where the (ReLU's) output is positive."""

    _fn = None

    @classmethod
    def apply(cls, out):
        if cls._fn is None:
            torch = require_torch()

            class Fn(torch.autograd.Function):
                @staticmethod
                def forward(ctx, y):
                    ctx.save_for_backward(y > 0)
                    return y.clone()

                @staticmethod
                def backward(ctx, dy):
                    (positive,) = ctx.saved_tensors
                    return dy.clamp(min=0) * positive

            cls._fn = Fn
        return cls._fn.apply(out)


class TorchBackend(ModelBackend):
    """A PyTorch classifier (see the module docstring).

    ``module``: the model; ``size``: the images' side ``S``; ``channels``: 3 or 1; ``mean`` /
    ``std``: per channel (or one value), on the [0, 1] pixel scale; ``output_class``: the
    explained class of class logits (``None``: 1 for two columns); ``gradcam_layer``: a module
    path (``features.denseblock4``); ``blocks``: randomization blocks as module paths,
    top-down; ``device``: ``cpu``, ``cuda``, ``cuda:N`` (``None``/``auto``: CUDA when present).
    """

    name = "torch"

    def __init__(
        self,
        module,
        *,
        size: int,
        channels: int = 3,
        mean: float | Sequence[float] = 0.0,
        std: float | Sequence[float] = 1.0,
        output_class: int | None = None,
        gradcam_layer: str | None = None,
        blocks: Sequence[str] = (),
        device: str | None = None,
        fmt: str = "factory",
        source: str = "model",
    ):
        torch = require_torch()
        super().__init__(size=size, gradcam_layer=gradcam_layer)
        if channels not in (1, 3):
            raise InputError(f"{source}: input channels must be 1 or 3, got {channels}")
        from saliency_audit.backends.device import torch_device

        self.torch = torch
        self.dev = torch_device(device)
        self.model = module.to(self.dev).eval()
        self.fmt = fmt
        self.source = source
        self.channels = int(channels)
        self.output_class = output_class
        self.blocks = [str(b) for b in blocks]
        self._mean = self._per_channel(mean, "mean")
        self._std = self._per_channel(std, "std")
        if (self._std <= 0).any():
            raise InputError(f"{source}: std must be > 0, got {std}")
        self._guided_count = None

    def _per_channel(self, value, what):
        v = np.atleast_1d(np.asarray(value, np.float32))
        if v.size == 1:
            v = np.repeat(v, self.channels)
        if v.size != self.channels:
            raise InputError(
                f"{self.source}: {what} has {v.size} values for {self.channels} input channels"
            )
        return v

    @property
    def framework(self) -> str:
        return "torch"

    @property
    def device(self) -> str:
        return str(self.dev)

    def parameters(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    def describe(self) -> dict:
        return {
            **super().describe(),
            "torch_format": self.fmt,
            "input": {
                "channels": self.channels,
                "mean": [float(v) for v in self._mean],
                "std": [float(v) for v in self._std],
                "from": "model inputs in [-1, 1] mapped to [0, 1] pixels, then (x - mean) / std",
            },
            "output_class": self.output_class,
        }

    # ------------------------------------------------------------------ the differentiated map
    def _inputs(self, x):
        """Our ``(N, S, S, 3)`` in [-1, 1] -> the module's ``(N, C, S, S)`` normalised."""
        t = (x + 1.0) * 0.5
        if self.channels == 1:
            t = t.mean(dim=-1, keepdim=True)
        mean = self.torch.as_tensor(self._mean, device=self.dev)
        std = self.torch.as_tensor(self._std, device=self.dev)
        return ((t - mean) / std).permute(0, 3, 1, 2)

    def _logit(self, out):
        torch = self.torch
        if isinstance(out, tuple | list):
            out = out[0]
        if not torch.is_tensor(out):
            raise InputError(f"{self.source}: the model must return a tensor, got {type(out)}")
        if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
            return out.reshape(-1)
        if out.ndim != 2:
            raise InputError(
                f"{self.source}: expected (N,), (N, 1) or (N, K) outputs, got {tuple(out.shape)}"
            )
        k = out.shape[1]
        cls = 1 if self.output_class is None and k == 2 else self.output_class
        if cls is None or not 0 <= cls < k:
            raise InputError(
                f"{self.source}: the model returns {k} class logits; set output_class "
                f"(0..{k - 1}) to the class to explain"
            )
        others = torch.cat([out[:, :cls], out[:, cls + 1 :]], dim=1)
        return out[:, cls] - torch.logsumexp(others, dim=1)

    def _forward(self, xt):
        try:
            return self._logit(self.model(self._inputs(xt)))
        except InputError:
            raise
        except RuntimeError as exc:
            hint = ""
            if self.fmt == "export":
                hint = " (export the program with a dynamic batch dimension, torch.export.Dim)"
            raise InputError(f"{self.source}: the model failed on a batch{hint}: {exc}") from None

    # ------------------------------------------------------------------ kinds
    def _module(self, path: str, what: str):
        if self.fmt == "torchscript":
            raise InputError(
                f"{self.source}: a TorchScript model has no hooks, so {what} cannot read its "
                "modules; give a factory and a state dict or a torch.export (.pt2) program"
            )
        try:
            return self.model.get_submodule(path)
        except AttributeError:
            names = [n for n, _ in self.model.named_modules() if n][-8:]
            raise InputError(
                f"{self.source}: {what} {path!r} is not a module path of the model "
                f"(its last modules: {', '.join(names)})"
            ) from None

    def _relus(self) -> list:
        return [m for m in self.model.modules() if isinstance(m, self.torch.nn.ReLU)]

    def prepare(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
        if kind == "gradcam":
            if not self.gradcam_layer:
                raise InputError(
                    f"{self.source}: Grad-CAM (GCAM, GGCAM) needs gradcam_layer, the module path "
                    "of a convolutional layer (e.g. 'features.denseblock4' or 'layer4')"
                )
            self._module(self.gradcam_layer, "gradcam_layer")
        elif kind == "guided":
            if self.fmt == "torchscript":
                self._module("", "guided backpropagation")
            if not self._relus():
                raise InputError(
                    f"{self.source}: the model has no nn.ReLU modules; guided backpropagation "
                    "(GBP/GGCAM) guides nn.ReLU modules (a torch.export program has none)"
                )

    def compile(self, kind: str, batch: int | None):
        torch = self.torch
        self.prepare(kind)
        self.trace_counts[(kind, batch)] += 1  # eager: one per function made

        def numpy(t):
            return t.detach().float().cpu().numpy()

        def run(x, sign):
            xt = torch.tensor(np.asarray(x, np.float32), device=self.dev)
            st = torch.tensor(np.asarray(sign, np.float32), device=self.dev)
            if kind == "forward":
                with torch.no_grad():
                    return (numpy(self._forward(xt)),)
            hooks, grabbed = [], []
            try:
                if kind == "guided":
                    hooks = [
                        m.register_forward_hook(lambda _m, _i, o: _GuidedIdentity.apply(o))
                        for m in self._relus()
                    ]
                elif kind == "gradcam":
                    layer = self._module(self.gradcam_layer, "gradcam_layer")
                    hooks = [layer.register_forward_hook(lambda _m, _i, o: grabbed.append(o))]
                with torch.enable_grad():
                    xt.requires_grad_(True)
                    z = self._forward(xt)
                    target = (st * z).sum()
                    if kind != "gradcam":
                        (g,) = torch.autograd.grad(target, xt)
                        return numpy(g), numpy(z)
                    act = grabbed[-1]
                    if act.ndim != 4:
                        raise InputError(
                            f"{self.source}: gradcam_layer {self.gradcam_layer!r} must output "
                            f"(N, c, h, w), got {tuple(act.shape)}"
                        )
                    (g,) = torch.autograd.grad(target, act)
                    nhwc = (0, 2, 3, 1)
                    return numpy(act.permute(nhwc)), numpy(g.permute(nhwc)), numpy(z)
            finally:
                for h in hooks:
                    h.remove()

        return run

    # ------------------------------------------------------------------ randomization
    def block_names(self) -> list[str]:
        return list(self.blocks)

    def reinitialize(self, blocks, seed: int) -> int:
        torch = self.torch
        if self.fmt != "factory":
            raise InputError(
                f"{self.source}: randomization calls each module's reset_parameters(); "
                f"a {self.fmt} model has none: give a factory and a state dict"
            )
        n = 0
        for block in blocks:
            found = 0
            for name, mod in self._module(block, "randomization block").named_modules():
                reset = getattr(mod, "reset_parameters", None)
                if not callable(reset):
                    continue
                s = derive_seed(seed, "randomize", block, name) % (2**31 - 1)
                cuda = [self.dev.index or 0] if self.dev.type == "cuda" else []
                with torch.random.fork_rng(devices=cuda):
                    torch.manual_seed(s)
                    reset()
                found += 1
                n += len(list(mod.parameters(recurse=False))) + len(list(mod.buffers(False)))
            if not found:
                raise InputError(
                    f"{self.source}: randomization block {block!r} has no module with "
                    "reset_parameters()"
                )
        return n

    def state(self):
        return copy.deepcopy(self.model.state_dict())

    def restore(self, state) -> None:
        self.model.load_state_dict(state)
