"""Saliency and randomization jobs: a model loaded once, maps streamed to float16 stacks.

Each output ``<name>.npy`` (``float16 (n, S, S)``, row ``k`` = image ``rows[k]``) comes with a
``<name>.json`` sidecar: method, parameters, seed, what the method says of itself
(:meth:`~saliency_audit.saliency.base.SaliencyMethod.describe`: the raw-to-map recipe, the
Grad-CAM layer and cell placement), the rows' image ids, timing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from saliency_audit import io, provenance
from saliency_audit.saliency.postprocess import RAW_RECIPE
from saliency_audit.split import read_positives


@dataclass
class MapTask:
    """One method's output: ``method`` name, its ``params``, noise ``seed`` and file paths."""

    method: str
    out_maps: str
    out_json: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    out_raw: str | None = None
    noise: str = "independent"


def loaded(
    model_path,
    *,
    size,
    threads,
    gradcam_layer,
    batch_size,
    explain,
    log,
    spec: dict | None = None,
    arch: str | None = None,
    device: str | None = None,
):
    """``(backend, ctx)``: the classifier loaded behind its backend (Keras, or PyTorch with a
    ``torch`` spec) and its compiled-function cache, the Grad-CAM layer given or found, the
    batch size given or (``auto``) chosen from the device's free memory."""
    from saliency_audit.backends import configure, open_classifier
    from saliency_audit.backends.device import auto_batch
    from saliency_audit.saliency.model_functions import ModelContext

    configure(spec, threads, seed=0)
    t0 = time.perf_counter()
    backend = open_classifier(
        model_path, size=size, spec=spec, gradcam_layer=gradcam_layer, arch=arch, device=device
    )
    log.info(
        "loaded %s (%d parameters; %s under %s on %s) in %.1f s",
        model_path,
        backend.parameters(),
        backend.name,
        backend.framework,
        backend.device,
        time.perf_counter() - t0,
    )
    if batch_size == "auto":
        batch_size = auto_batch(backend)
    ctx = ModelContext(backend, positive_class=(explain == "positive"), fixed_batch=batch_size)
    return backend, ctx


def classifier_args(smk) -> dict:
    """The keyword arguments of :func:`loaded` from a Snakemake job whose rule has the
    classifier's ``model`` input and ``size``, ``layer``, ``batch_size``, ``explain`` and
    ``backend`` (``common.smk``'s ``backend_params``) params."""
    return dict(
        model_path=smk.input.model,
        size=smk.params.size,
        gradcam_layer=smk.params.layer,
        batch_size=smk.params.batch_size,
        explain=smk.params.explain,
        threads=smk.threads,
        **smk.params.backend,
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
    return {
        "method": task.method,
        "params": engine.method.params,
        "seed": task.seed,
        "image_seed": "numpy SeedSequence([seed, stack index]) per image",
        "noise": task.noise if engine.method.stochastic else None,
        "gradient_evaluations_per_image": engine.method.gradient_evaluations,
        **engine.method.describe(),
        **engine.ctx.backend.describe(),
        "raw_recipe": RAW_RECIPE if task.out_raw else None,
        "raw_scale": summary["raw_scale"] if task.out_raw else None,
        "shape": [len(rows), engine.size, engine.size],
        "dtype": "float16",
        "image_ids": rows["image_id"].tolist(),
        "indices": [int(i) for i in rows["index"]],
        "seconds": round(summary["seconds"], 3),
        "maps_per_s": round(summary["maps_per_s"], 4),
        **provenance.stamp(),
        **extra,
    }


def _write(engine, task: MapTask, stack, rows: pd.DataFrame, extra: dict, log) -> dict:
    """One task's maps, raw maps and sidecar (``extra``: more sidecar fields)."""
    summary = engine.compute_maps(
        stack,
        rows["index"].to_numpy(),
        task.out_maps,
        seed=task.seed,
        out_raw=task.out_raw,
        log=log,
    )
    io.write_json(task.out_json, _sidecar(task, engine, summary, rows, extra))
    return summary


def saliency_job(
    *,
    images,
    positives,
    tasks: list[MapTask],
    log: logging.Logger,
    protocol: dict | None = None,
    sampled_only: bool = False,
    **classifier,
) -> None:
    """Maps of every positive test image (``positives.csv``; ``sampled_only``: of the sample,
    as the randomization steps) for each task's method; with
    ``protocol`` (:func:`saliency_audit.jobs.localize.protocol_maps`' arguments), also the
    cheXlocalize protocol's maps and probabilities, the model and its traces reused.
    ``classifier``: :func:`loaded`'s arguments."""
    rows = read_positives(positives, sampled_only=sampled_only)
    stack = io.load_stack(images)
    model, ctx = loaded(**classifier, log=log)
    for task in tasks:
        engine = _engine(ctx, task, batch_size=ctx.fixed_batch)
        summary = _write(engine, task, stack, rows, {}, log.info)
        log.info(
            "%s: %d maps in %.1f s (%.3g maps/s, %d traces)",
            task.method,
            summary["n"],
            summary["seconds"],
            summary["maps_per_s"],
            summary["traces"],
        )
    if protocol is not None:
        from saliency_audit.jobs.localize import protocol_maps

        protocol_maps(model, ctx, stack, log=log, **protocol)


def randomize_job(
    *,
    images,
    positives,
    steps: list,
    tasks: dict[str, list[MapTask]],
    seed: int,
    log: logging.Logger,
    **classifier,
) -> None:
    """Maps of the sampled positive test images under each randomization step.

    ``steps``: :class:`~saliency_audit.models.randomize.Step` objects; ``tasks[step.name]``: the
    step's outputs, one per method (the same methods and seeds for every step).
    ``classifier``: :func:`loaded`'s arguments.
    """
    from saliency_audit.preprocess import to_model_input

    rows = read_positives(positives, sampled_only=True)
    stack = io.load_stack(images)
    backend, ctx = loaded(**classifier, log=log)
    engines = {t.method: _engine(ctx, t, batch_size=ctx.fixed_batch) for t in tasks[steps[0].name]}
    x = to_model_input(np.asarray(stack[rows["index"].to_numpy()]))
    trained_logits = backend.predict(x)
    log.info("%d sampled images; trained model mean logit %.3f", len(rows), trained_logits.mean())
    for k, step in enumerate(steps, 1):
        t0 = time.perf_counter()
        with backend.randomized(step.blocks, seed) as info:
            logits = backend.predict(x)
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
                ctx.sync_weights()
                extra = {
                    "step": step.name,
                    "kind": step.kind,
                    "blocks": list(step.blocks),
                    "randomization_seed": seed,
                }
                _write(engines[task.method], task, stack, rows, extra, lambda _msg: None)
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


def panel_job(*, title: str, maps: dict, images, masks, positives, n_images: int, out) -> None:
    """A few positive test images (ground truth outlined) and each method's map of one model.
    ``maps``: method -> map stack."""
    from saliency_audit.figures.panels import method_panel

    rows = read_positives(positives)
    k = min(n_images, len(rows))
    chosen = rows["index"].to_numpy()[:k]
    method_panel(
        io.load_stack(images)[chosen],
        {m: io.load_stack(p)[:k] for m, p in maps.items()},
        rows["image_id"].tolist()[:k],
        out,
        title=title,
        masks=io.load_stack(masks)[chosen],
    )
    logging.getLogger(__name__).info("panel of %d images x %d methods", k, len(maps))
