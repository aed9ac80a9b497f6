"""Plan the paper-scale DAG with a dry run: job count and planning seconds.

Builds the DAG of ``configs/paper.yaml`` (two datasets, 3 + 1 classifier replicates, 8 methods,
the 11-step cascade, one job per (model, method) and per (model, step, method)) on stub files
in the real Kaggle layouts (and stand-ins of Keras' ImageNet files), and compares its planning
time with the default synthetic config's in the same run (the baseline).

    .venv/bin/python benchmarks/dag.py
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from saliency_audit.synth import write_layout_stubs

ROOT = Path(__file__).resolve().parents[1]


def dry_run(config: Path, workdir: Path) -> tuple[float, dict[str, int]]:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        str(config),
        "--quiet",
        "rules",
        "--cores",
        "2",
        "-n",
    ]
    env = {**os.environ, "KERAS_HOME": str(workdir / "keras")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    seconds = time.perf_counter() - t0
    counts = {}
    table = (proc.stdout + proc.stderr).split("Job stats:")[1]
    for name, n in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M):
        counts[name] = int(n)
    return seconds, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="dry runs per config (best kept)")
    args = parser.parse_args()
    results = {}
    for name, config in (
        ("default (baseline)", ROOT / "config.yaml"),
        ("paper", ROOT / "configs/paper.yaml"),
    ):
        best, counts = float("inf"), {}
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                write_layout_stubs(tmp, keras_home=Path(tmp) / "keras")
                seconds, counts = dry_run(config, Path(tmp))
            best = min(best, seconds)
        results[name] = (best, counts)
    base = results["default (baseline)"][0]
    print(f"{'config':<20} {'jobs':>6} {'planning s':>11} {'ratio':>7}")
    for name, (seconds, counts) in results.items():
        print(f"{name:<20} {counts.get('total', 0):>6} {seconds:>11.2f} {seconds / base:>7.2f}")
    print("\npaper config jobs per rule:")
    for rule, n in sorted(results["paper"][1].items(), key=lambda kv: -kv[1]):
        if rule != "total":
            print(f"  {rule:<22} {n:>5}")


if __name__ == "__main__":
    main()
