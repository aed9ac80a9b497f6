"""Benchmark the batched saliency engine against the ``saliency`` package's plain calls.

For each method, on the same images in one run: maps/s of our engine (noise samples,
integration steps and images batched through one compiled call) and of the package's plain
per-sample calls (``GetMask`` / ``GetSmoothedMask`` one image at a time, IG with
``batch_size=1``), the largest difference between the two (post-processed maps in [0, 1], and
raw attributions relative to their largest value), and the engine's cost against its limit:
(seconds per map) / (gradient evaluations per map x best batched seconds per gradient) — 1.0
means the method costs exactly its gradients; GCAM's gradient stops at the Grad-CAM layer, so it
can fall below 1; XRAI adds CPU-side segmentation on top.

It runs under any Keras backend and on whatever device that framework picks (the first GPU it
sees, else the CPU), and projects the paper's scale from the best batched gradient rate:

    .venv/bin/python benchmarks/saliency.py --size 128 --images 4 --methods GRAD,SG,IG
    KERAS_BACKEND=torch python benchmarks/saliency.py --size 320 --batch-size auto
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``saliency`` package that the engine imports: drop that entry.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from saliency_audit.preprocess import to_model_input  # noqa: E402
from saliency_audit.saliency import (  # noqa: E402
    SaliencyEngine,
    get_method,
    image_seed,
    method_names,
    postprocess,
    postprocess_batch,
)

ARCHS = {"inceptionv3": "mixed10", "densenet121": "relu"}


def build_model(arch: str, size: int, seed: int) -> keras.Model:
    """Randomly initialised backbone (no weights fetched) + global average pool + Dense(1)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3))
    app = {
        "inceptionv3": keras.applications.InceptionV3,
        "densenet121": keras.applications.DenseNet121,
    }
    base = app[arch](include_top=False, weights=None, input_tensor=inp, pooling="avg")
    return keras.Model(inp, keras.layers.Dense(1, name="logit")(base.output), name=arch)


def synthetic_images(n: int, size: int, seed: int) -> np.ndarray:
    """uint8 (n, S, S): smooth background, a bright blob, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size), np.uint8)
    for i in range(n):
        cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.08, 0.2)
        img = 90 + 60 * yy + 100 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        out[i] = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    return out


def best_seconds_per_gradient(
    engine: SaliencyEngine, x: np.ndarray, batches: list[int], reps: int = 3
) -> float:
    """Min over ``batches`` and ``reps`` of (seconds per compiled input-gradient call) / batch,
    on the benchmark's own inputs tiled to the batch."""
    best = float("inf")
    for g in sorted(set(batches)):
        fn = engine.ctx.function("input", g)
        xb = np.resize(x, (g, *x.shape[1:]))
        fn.run(xb)  # trace
        for _ in range(reps):
            t = time.perf_counter()
            fn.run(xb)
            best = min(best, (time.perf_counter() - t) / g)
    return best


def run(args) -> list[dict]:
    from saliency_audit.backends.device import auto_batch, free_memory
    from saliency_audit.backends.keras_model import KerasBackend

    model = build_model(args.arch, args.size, args.seed)
    layer = ARCHS[args.arch]
    backend = KerasBackend(model, gradcam_layer=layer)
    memory = free_memory(backend)
    if args.batch_size == "auto":
        args.batch_size = auto_batch(backend)
    print(
        f"# Keras {keras.__version__} on {backend.framework}, device {backend.device}"
        + (f", {memory[0] / 2**30:.1f} of {memory[1] / 2**30:.1f} GiB free" if memory else ""),
        flush=True,
    )
    imgs = synthetic_images(args.images, args.size, args.seed)
    x = to_model_input(imgs)
    seeds = [image_seed(args.seed, i) for i in range(args.images)]
    probe = SaliencyEngine(backend, "GRAD", batch_size=args.batch_size)
    plans = [get_method(m).make_plan(args.batch_size, args.images) for m in args.methods]
    t_grad = best_seconds_per_gradient(probe, x, [args.batch_size] + [p.batch for p in plans])
    print(
        f"# {args.arch} {args.size}x{args.size}, {args.images} images, batch_size "
        f"{args.batch_size}, best batched input gradient (probe) {1e3 * t_grad:.2f} ms/input",
        flush=True,
    )
    rows = []
    for name in args.methods:
        traced = dict(backend.trace_counts)
        eng = SaliencyEngine(backend, name, batch_size=args.batch_size)
        plan = eng.prepare(args.images)
        m = eng.method
        eng.raw(x[:1], seeds[:1])  # trace + warm up (one padded call shape)
        m.reference(x[0], seeds[0])  # trace the plain function
        t = time.perf_counter()
        raws = []
        for s in range(0, args.images, plan.images):
            raws.append(eng.raw(x[s : s + plan.images], seeds[s : s + plan.images]))
        raw = np.concatenate(raws)
        maps = postprocess_batch(raw)
        t_engine = time.perf_counter() - t
        t = time.perf_counter()
        refs = [m.reference(x[i], seeds[i]) for i in range(args.images)]
        ref_maps = np.stack([postprocess(r) for r in refs])
        t_plain = time.perf_counter() - t
        ref = np.stack(refs)
        evals = m.gradient_evaluations
        fn = eng.ctx.functions.get(("input", plan.batch))
        if fn is not None and fn.inputs_run:  # per-input time seen inside this method's calls
            t_grad = min(t_grad, fn.seconds / fn.inputs_run)
        rows.append(
            {
                "method": name,
                "evals": evals,
                "plan": f"{plan.images}x{'x'.join(map(str, plan.groups)) or '1'}->{plan.batch}",
                "engine": args.images / t_engine,
                "plain": args.images / t_plain,
                "dmap": float(np.max(np.abs(maps - ref_maps))),
                "draw": float(np.max(np.abs(raw - ref)) / max(np.max(np.abs(ref)), 1e-30)),
                "seconds_per_map": t_engine / args.images,
                # traces this method added at fixed batches (the plain ones are separate)
                "traces": sum(
                    v - traced.get((k, b), 0)
                    for (k, b), v in backend.trace_counts.items()
                    if b is not None
                ),
            }
        )
        r = rows[-1]
        print(f"  {name}: engine {r['engine']:.3g} maps/s, plain {r['plain']:.3g}", flush=True)
    print(f"# best batched input gradient over the run: {1e3 * t_grad:.2f} ms/input")
    if args.paper_gradients:
        hours = args.paper_gradients * t_grad / 3600
        print(
            f"# paper scale: {args.paper_gradients:.3g} gradient evaluations at this rate "
            f"= {hours:.3g} hours on this device ({1 / t_grad:.4g} gradients/s)"
        )
    for r in rows:
        r["ratio"] = r["seconds_per_map"] / (r["evals"] * t_grad)
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| method | grads/map | plan img x groups -> batch | engine maps/s | gradients/s "
        "| plain maps/s | speed-up | max abs diff map | max rel diff raw | cost / limit | traces |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['evals']} | {r['plan']} | {r['engine']:.3g} "
            f"| {r['engine'] * r['evals']:.3g} | {r['plain']:.3g} "
            f"| {r['engine'] / r['plain']:.2f}x | {r['dmap']:.1e} | {r['draw']:.1e} "
            f"| {r['ratio']:.2f} | {r['traces']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=128, help="image side S (default 128)")
    p.add_argument("--images", type=int, default=4, help="number of images (default 4)")
    p.add_argument(
        "--methods",
        type=lambda s: [m.strip().upper() for m in s.split(",") if m.strip()],
        default=method_names(),
        help="comma-separated methods (default all: " + ",".join(method_names()) + ")",
    )
    p.add_argument(
        "--batch-size",
        type=lambda v: v if v == "auto" else int(v),
        default=32,
        help="model inputs per call, or auto (from the GPU's free memory; 32 on a CPU)",
    )
    p.add_argument(
        "--paper-gradients",
        type=float,
        default=2.7e6,
        help="gradient evaluations of the paper's scale to project (README: 2.7 M)",
    )
    p.add_argument("--arch", choices=sorted(ARCHS), default="inceptionv3")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    bad = [m for m in args.methods if m not in method_names()]
    if bad:
        p.error(f"unknown method(s) {bad}; valid: {','.join(method_names())}")
    print(table(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
