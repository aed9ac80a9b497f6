"""Do a classifier's predictions depend on the number of threads? Train it twice and compare.

Runs the default configuration (``config.yaml``) up to one classifier's test predictions twice,
in two temporary folders, once with ``models.training.threads: 1`` (the baseline) and once with
``--threads`` (default 2), and compares the two runs: predictions byte-identical or not, the
largest logit difference, the first epoch whose training loss differs, the restored epoch and
the test AUROC. TensorFlow runs with
op determinism on; what can still differ across thread counts is the order of floating-point
reductions in its CPU kernels.

    .venv/bin/python benchmarks/threads.py                       # DenseNet-121 on pneumonia
    .venv/bin/python benchmarks/threads.py --model inceptionv3_r1 --dataset pneumothorax
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from saliency_audit.paths import Paths

ROOT = Path(__file__).resolve().parents[1]


def train(workdir: Path, threads: int, target: str) -> float:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["models"]["training"]["threads"] = threads
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir)]
    cmd += ["--configfile", str(path), "--quiet", "rules", "--cores", str(threads), target]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="pneumonia")
    parser.add_argument("--model", default="densenet121_r1")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    p = Paths("results")
    target = p("predictions", dataset=args.dataset, model=args.model)
    history = p("history", dataset=args.dataset, model=args.model)
    metrics = p("test_metrics", dataset=args.dataset, model=args.model)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, args.threads):
            workdir = Path(tmp) / f"threads{threads}"
            seconds = train(workdir, threads, target)
            hist = pd.read_csv(workdir / history)
            runs[threads] = {
                "bytes": (workdir / target).read_bytes(),
                "logits": pd.read_csv(workdir / target)["logit"].to_numpy(),
                "loss": hist["loss"].to_numpy(),
                "restored": int(hist.loc[hist["best"].astype(bool), "epoch"].iloc[-1]),
                "auroc": json.loads((workdir / metrics).read_text())["auroc"],
                "seconds": seconds,
            }
    a, b = runs[1], runs[args.threads]
    diff = np.abs(a["logits"] - b["logits"])
    first = (
        int(np.flatnonzero(a["loss"] != b["loss"])[0]) + 1
        if (a["loss"] != b["loss"]).any()
        else None
    )
    print(f"{args.model} on {args.dataset}: 1 thread (baseline) vs {args.threads} threads")
    print(f"  seconds (data stages + training): {a['seconds']:.0f} vs {b['seconds']:.0f}")
    print(f"  test_predictions.csv byte-identical: {a['bytes'] == b['bytes']}")
    print(f"  largest |logit difference| over {len(diff)} test images: {diff.max():.3g}")
    print(f"  training loss first differs at epoch: {first}")
    print(f"  restored epoch: {a['restored']} vs {b['restored']}")
    print(f"  test AUROC: {a['auroc']:.3f} vs {b['auroc']:.3f}")


if __name__ == "__main__":
    main()
