"""Plan the paper-scale DAG with a dry run: job count, planning seconds, and the start-up cost of
each job layout.

Also plans the paper config on one dataset of each further format (chexlocalize, nih, vindr,
folder: its layout with stub files), whose dry runs must stay under 15 s.

Builds the DAG of ``configs/paper.yaml`` (two datasets, 3 + 1 classifier replicates, 8 methods,
the 11-step cascade, one job per (model, method) and per (model, step, method)) on stub files
in the real Kaggle layouts (and stand-ins of Keras' ImageNet files), and compares its planning
time with the default synthetic config's in the same run (the baseline). The paper config is
planned in both job layouts: ``per_method`` (its own) and ``per_model`` (``saliency.jobs`` and
``randomization.jobs``: one job per model). Every GPU job (resource ``gpu``) starts TensorFlow
and loads its model before any work; that start-up is measured here (a fresh interpreter that
imports TensorFlow and loads an InceptionV3 classifier saved at the paper's 320 px) and
multiplied by each layout's GPU job count.

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

from saliency_audit.synth import paper_config_for_format, write_layout_stubs

ROOT = Path(__file__).resolve().parents[1]


PER_MODEL = ["saliency={jobs: per_model}", "randomization={jobs: per_model}"]
#: the paper config is also planned with its two datasets replaced by one of each of these
FURTHER_FORMATS = ("chexlocalize", "nih", "vindr", "folder")


STARTUP = """
import sys, time
t0 = time.perf_counter()
from saliency_audit.models.classifier import load_classifier
load_classifier(sys.argv[1], 320)
print(time.perf_counter() - t0)
"""


def job_start_seconds(workdir: Path) -> float:
    """Seconds a model job spends before its first input: Python + TensorFlow import and the
    load of an InceptionV3 classifier file (320 px), in a fresh interpreter, best of two."""
    path = workdir / "inceptionv3.keras"
    build = (
        "import sys; from saliency_audit.models.classifier import build_classifier, save_model; "
        "save_model(build_classifier('inceptionv3', 320), sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", build, str(path)], check=True, capture_output=True)
    times = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", STARTUP, str(path)], check=True, capture_output=True, text=True
        )
        times.append(float(proc.stdout.split()[-1]))
    return min(times)


def dry_run(config: Path, workdir: Path, *extra: str) -> tuple[float, dict[str, int], int]:
    """Planning seconds, jobs per rule, and the number of jobs that request a GPU."""
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
        *(["--config", *extra] if extra else []),
        "--cores",
        "2",
        "-n",
    ]
    env = {**os.environ, "KERAS_HOME": str(workdir / "keras")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    seconds = time.perf_counter() - t0
    text = proc.stdout + proc.stderr
    counts = {}
    for name, n in re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], flags=re.M):
        counts[name] = int(n)
    gpu_jobs = len(re.findall(r"^\s+resources: .*\bgpu=\d", text, flags=re.M))
    return seconds, counts, gpu_jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="dry runs per config (best kept)")
    args = parser.parse_args()
    plans = {
        "default (baseline)": (ROOT / "config.yaml", ()),
        "paper, per_method": (ROOT / "configs/paper.yaml", ()),
        "paper, per_model": (ROOT / "configs/paper.yaml", PER_MODEL),
    }
    for fmt in FURTHER_FORMATS:
        plans[f"paper, {fmt}"] = (fmt, ())
    results = {}
    for name, (plan, extra) in plans.items():
        best, counts, gpu_jobs = float("inf"), {}, 0
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                config, stubs = plan, None  # stubs of configs/paper.yaml's two datasets
                if isinstance(plan, str):  # a format: the paper config on its layout
                    config = stubs = paper_config_for_format(plan, Path(tmp))
                write_layout_stubs(tmp, config=stubs, keras_home=Path(tmp) / "keras")
                seconds, counts, gpu_jobs = dry_run(config, Path(tmp), *extra)
            best = min(best, seconds)
        results[name] = (best, counts, gpu_jobs)
    with tempfile.TemporaryDirectory() as tmp:
        start = job_start_seconds(Path(tmp))
    base = results["default (baseline)"][0]
    print(f"{'config':<20} {'jobs':>6} {'GPU jobs':>9} {'planning s':>11} {'ratio':>7}")
    for name, (seconds, counts, gpu_jobs) in results.items():
        total = counts.get("total", 0)
        print(f"{name:<20} {total:>6} {gpu_jobs:>9} {seconds:>11.2f} {seconds / base:>7.2f}")
    print(
        f"\nmodel job start-up (TensorFlow import + InceptionV3 320 px load): {start:.1f} s; "
        "GPU job-hours spent starting up:"
    )
    for name, (_, _, gpu_jobs) in results.items():
        if name.startswith("paper, per"):
            print(f"  {name:<18} {gpu_jobs:>5} x {start:.1f} s = {gpu_jobs * start / 3600:.2f} h")
    print("\npaper config jobs per rule (per_method | per_model):")
    method, model = results["paper, per_method"][1], results["paper, per_model"][1]
    for rule in sorted(
        set(method) | set(model), key=lambda r: -max(method.get(r, 0), model.get(r, 0))
    ):
        if rule != "total":
            print(f"  {rule:<26} {method.get(rule, 0):>5} {model.get(rule, 0):>5}")


if __name__ == "__main__":
    main()
