"""Do a classifier's predictions depend on the number of threads? Train it twice and compare.

Runs the default configuration (``config.yaml``) up to one classifier's test predictions twice,
in two temporary folders, once with ``models.training.threads: 1`` (the baseline) and once with
``--threads`` (default 2), and compares the two ``test_predictions.csv`` (logits) and
``history.csv``: byte-identical or not, and the largest logit difference. TensorFlow runs with
op determinism on; what can still differ across thread counts is the order of floating-point
reductions in its CPU kernels.

    .venv/bin/python benchmarks/threads.py                       # DenseNet-121 on pneumonia
    .venv/bin/python benchmarks/threads.py --model inceptionv3_r1 --dataset pneumothorax
"""

from __future__ import annotations

import argparse
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
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, args.threads):
            workdir = Path(tmp) / f"threads{threads}"
            seconds = train(workdir, threads, target)
            runs[threads] = (
                (workdir / target).read_bytes(),
                pd.read_csv(workdir / target),
                (workdir / history).read_bytes(),
                seconds,
            )
    (b1, p1, h1, s1), (b2, p2, h2, s2) = runs[1], runs[args.threads]
    diff = np.abs(p1["logit"].to_numpy() - p2["logit"].to_numpy())
    print(f"{args.model} on {args.dataset}: 1 thread (baseline) vs {args.threads} threads")
    print(f"  seconds (train + data stages): {s1:.0f} vs {s2:.0f} (ratio {s2 / s1:.2f})")
    print(f"  test_predictions.csv byte-identical: {b1 == b2}")
    print(f"  history.csv byte-identical: {h1 == h2}")
    print(f"  largest |logit difference| over {len(diff)} test images: {diff.max():.3g}")


if __name__ == "__main__":
    main()
