"""Conversion throughput: DICOM (JPEG Baseline, 8-bit) -> model-ready stacks.

Writes a synthetic SIIM-layout dataset once, then converts it with 1 worker (the baseline)
and with N workers, and prints images/s and the speed-up ratio measured in the same run.

    python benchmarks/convert.py --images 200 --dicom-size 1024 --size 320 --threads 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from saliency_audit.convert import OUTPUTS, ConvertOptions, convert_dataset
from saliency_audit.formats import read_dataset
from saliency_audit.paths import Paths
from saliency_audit.synth import write_siim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--dicom-size", type=int, default=1024)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "siim"
        write_siim(root, n_images=args.images, positive_rate=0.45, size=args.dicom_size, seed=0)
        records = read_dataset("siim", root)
        opts = ConvertOptions(size=args.size, salt="bench")
        rates = {}
        for threads in sorted({1, args.threads}):
            start = time.perf_counter()
            paths = Paths(Path(tmp) / f"out{threads}")
            out = {k: paths(k, dataset="siim") for k in OUTPUTS}
            convert_dataset(records, out, opts, threads=threads)
            rates[threads] = len(records) / (time.perf_counter() - start)
    print(f"{len(records)} images, {args.dicom_size}px JPEG Baseline DICOM -> {args.size}px")
    print(f"{'workers':>8} {'images/s':>10} {'ratio':>7}")
    for threads, rate in rates.items():
        print(f"{threads:>8} {rate:>10.1f} {rate / rates[1]:>7.2f}")


if __name__ == "__main__":
    main()
