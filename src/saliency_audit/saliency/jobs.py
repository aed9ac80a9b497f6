"""Saliency and randomization jobs: a model loaded once, maps streamed to float16 stacks.

Each output ``<name>.npy`` (``float16 (n, S, S)``, row ``k`` = image ``rows[k]``) comes with a
``<name>.json`` sidecar: method, parameters, seed, the raw-to-normalised recipe, the rows'
image ids, timing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from saliency_audit import io
from saliency_audit.errors import InputError

RECIPE = (
    "raw attributions (d logit / d input, or the method's own) -> sum of |values| over the 3 "
    "channels -> values above the image's 99th percentile clipped -> divided by the maximum "
    "(map in [0, 1]; an all-zero map stays 0) -> float16"
)
GRADCAM_RECIPE = (
    "Grad-CAM: ReLU(sum_k mean(d logit / d A_k) A_k) at the Grad-CAM layer, divided by its "
    "maximum, bilinearly upsampled ({placement}); then " + RECIPE
)


@dataclass
class MapTask:
    """One method's output: ``method`` name, its ``params``, noise ``seed`` and file paths."""

    method: str
    out_maps: str
    out_json: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


def read_rows(path, *, sampled_only: bool = False) -> pd.DataFrame:
    """Rows of a ``positives.csv`` (``index, image_id, sampled``) in file order."""
    rows = pd.read_csv(path, dtype={"image_id": str})
    missing = {"index", "image_id", "sampled"} - set(rows.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    if sampled_only:
        rows = rows[rows["sampled"].astype(bool)]
    return rows.reset_index(drop=True)


def find_gradcam_layer(model) -> str:
    """The last layer with a 4-D ``(None, h, w, c)`` output with h, w > 1 if any (else > 0)."""
    candidates = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and shape[1] and shape[2]:
            candidates.append((layer.name, shape))
    if not candidates:
        raise InputError(f"model {model.name!r} has no 4-D layer output for Grad-CAM")
    wide = [name for name, shape in candidates if shape[1] > 1 and shape[2] > 1]
    return (wide or [candidates[-1][0]])[-1]


def _load(model_path, size: int, threads: int, log: logging.Logger):
    from saliency_audit.models.classifier import load_classifier
    from saliency_audit.models.tf_setup import configure_tensorflow

    configure_tensorflow(threads, seed=0)
    t0 = time.perf_counter()
    model = load_classifier(model_path, size)
    log.info(
        "loaded %s (%d parameters) in %.1f s",
        model_path,
        model.count_params(),
        time.perf_counter() - t0,
    )
    return model


def _context(model, *, gradcam_layer, batch_size, explain):
    """One compiled-function cache for all methods of a job (one trace per kind)."""
    from saliency_audit.saliency.model_functions import ModelContext

    return ModelContext(
        model,
        positive_class=(explain == "positive"),
        gradcam_layer=gradcam_layer,
        fixed_batch=batch_size,
    )


def _engine(ctx, task: MapTask, *, batch_size):
    from saliency_audit.saliency.engine import SaliencyEngine
    from saliency_audit.saliency.registry import get_method

    method = get_method(task.method, **task.params)
    return SaliencyEngine(
        ctx.model,
        method,
        batch_size=batch_size,
        gradcam_layer=ctx.gradcam_layer,
        positive_class=ctx.positive_class,
        context=ctx,
    )


def _sidecar(task: MapTask, engine, summary: dict, rows: pd.DataFrame, extra: dict) -> dict:
    recipe = RECIPE
    if engine.method.needs_gradcam_layer:
        align = engine.method.alignment(engine.ctx)
        if align is None:
            placement = centres = "grid stretched over the image"
            if engine.method.params["grid"] != "stretch":
                centres += " (receptive-field centres not derivable)"
        else:  # cell k of the grid sits on pixel stride * k + offset
            placement = "each cell on its receptive-field centre"
            names = ("rows", "cols")
            centres = {
                n: {"stride": a, "offset": b} for n, (a, b) in zip(names, align, strict=True)
            }
        recipe = GRADCAM_RECIPE.format(placement=placement)
        extra = {"gradcam_cell_centres": centres, **extra}
    return {
        "method": task.method,
        "params": engine.method.params,
        "seed": task.seed,
        "image_seed": "numpy SeedSequence([seed, stack index]) per image",
        "gradient_evaluations_per_image": engine.method.gradient_evaluations,
        "recipe": recipe,
        "shape": [len(rows), engine.size, engine.size],
        "dtype": "float16",
        "image_ids": rows["image_id"].tolist(),
        "indices": [int(i) for i in rows["index"]],
        "seconds": round(summary["seconds"], 3),
        "maps_per_s": round(summary["maps_per_s"], 4),
        **extra,
    }


def saliency_job(
    *,
    model_path,
    images,
    positives,
    tasks: list[MapTask],
    size: int,
    gradcam_layer: str | None,
    batch_size: int,
    explain: str,
    threads: int,
    log: logging.Logger,
) -> None:
    """Maps of every positive test image (``positives.csv``) for each task's method."""
    rows = read_rows(positives)
    stack = io.load_stack(images)
    model = _load(model_path, size, threads, log)
    layer = gradcam_layer or find_gradcam_layer(model)
    ctx = _context(model, gradcam_layer=layer, batch_size=batch_size, explain=explain)
    for task in tasks:
        engine = _engine(ctx, task, batch_size=batch_size)
        summary = engine.compute_maps(
            stack, rows["index"].to_numpy(), task.out_maps, seed=task.seed, log=log.info
        )
        log.info(
            "%s: %d maps in %.1f s (%.3g maps/s, %d traces)",
            task.method,
            summary["n"],
            summary["seconds"],
            summary["maps_per_s"],
            summary["traces"],
        )
        extra = {"gradcam_layer": layer} if engine.method.needs_gradcam_layer else {}
        io.write_json(task.out_json, _sidecar(task, engine, summary, rows, extra))


def randomize_job(
    *,
    model_path,
    arch: str,
    images,
    positives,
    steps: list,
    tasks: dict[str, list[MapTask]],
    size: int,
    gradcam_layer: str | None,
    batch_size: int,
    explain: str,
    seed: int,
    threads: int,
    log: logging.Logger,
) -> None:
    """Maps of the sampled positive test images under each randomization step.

    ``steps``: :class:`~saliency_audit.models.randomize.Step` objects; ``tasks[step.name]``: the
    step's outputs, one per method (the same methods and seeds for every step).
    """
    from saliency_audit.models.randomize import randomized
    from saliency_audit.preprocess import to_model_input

    rows = read_rows(positives, sampled_only=True)
    stack = io.load_stack(images)
    model = _load(model_path, size, threads, log)
    layer = gradcam_layer or find_gradcam_layer(model)
    ctx = _context(model, gradcam_layer=layer, batch_size=batch_size, explain=explain)
    engines = {t.method: _engine(ctx, t, batch_size=batch_size) for t in tasks[steps[0].name]}
    x = to_model_input(np.asarray(stack[rows["index"].to_numpy()]))
    trained_logits = np.asarray(model.predict(x, verbose=0)).reshape(-1)
    log.info("%d sampled images; trained model mean logit %.3f", len(rows), trained_logits.mean())
    for k, step in enumerate(steps, 1):
        t0 = time.perf_counter()
        with randomized(model, arch, step, seed) as info:
            logits = np.asarray(model.predict(x, verbose=0)).reshape(-1)
            log.info(
                "step %d/%d %s: %d weights re-drawn in blocks %s; mean logit %.3f "
                "(correlation with trained %.3f)",
                k,
                len(steps),
                step.name,
                info["weights"],
                ", ".join(step.blocks),
                logits.mean(),
                _corr(trained_logits, logits),
            )
            for task in tasks[step.name]:
                engine = engines[task.method]
                ctx.sync_weights()
                summary = engine.compute_maps(
                    stack,
                    rows["index"].to_numpy(),
                    task.out_maps,
                    seed=task.seed,
                    log=lambda _msg: None,
                )
                extra = {
                    "step": step.name,
                    "kind": step.kind,
                    "blocks": list(step.blocks),
                    "randomization_seed": seed,
                }
                if engine.method.needs_gradcam_layer:
                    extra["gradcam_layer"] = layer
                io.write_json(task.out_json, _sidecar(task, engine, summary, rows, extra))
        ctx.sync_weights()
        log.info(
            "step %d/%d %s: %d methods in %.1f s",
            k,
            len(steps),
            step.name,
            len(tasks[step.name]),
            time.perf_counter() - t0,
        )


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
