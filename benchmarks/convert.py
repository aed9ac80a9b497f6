"""Conversion throughput per dataset format: source files -> model-ready stacks.

Writes each format's synthetic look-alike once (its real layout and file type: JPEG Baseline
DICOM for SIIM and RSNA, PNG for NIH, JPEG for CheXpert/CheXlocalize, 12-bit uncompressed
MONOCHROME1 DICOM for VinDr, PNG with mask images for a folder), then reads and converts it
with N workers, and prints images/s per format with the ratio to SIIM (the baseline)
measured in the same run. With ``--workers-baseline`` SIIM is also converted with 1 worker.

    python benchmarks/convert.py --images 100 --source-size 1024 --size 320 --threads 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from saliency_audit.convert import OUTPUTS, ConvertOptions, convert_dataset
from saliency_audit.formats import FORMATS, get_format, read_dataset
from saliency_audit.paths import Paths
from saliency_audit.synth import synthesize


def convert_rate(fmt: str, root: Path, out_dir: Path, size: int, threads: int) -> tuple:
    """(images, images/s) of reading and converting the dataset at ``root``."""
    start = time.perf_counter()
    records = read_dataset(fmt, root)
    opts = ConvertOptions(size=size, salt="bench", load_image=get_format(fmt).load_image)
    paths = Paths(out_dir)
    out = {k: paths(k, dataset=fmt) for k in OUTPUTS}
    convert_dataset(records, out, opts, threads=threads, name=fmt)
    return len(records), len(records) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--source-size", type=int, default=1024, help="side of the source images")
    ap.add_argument("--size", type=int, default=320, help="side of the converted stacks")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    ap.add_argument("--workers-baseline", action="store_true")
    args = ap.parse_args()
    formats = ["siim", *[f for f in args.formats if f != "siim"]]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            root = Path(tmp) / fmt
            params = {"n_images": args.images, "positive_rate": 0.5, "size": args.source_size}
            synthesize(fmt, root, params, seed=0)
            for threads in (
                [1, args.threads] if args.workers_baseline and fmt == "siim" else [args.threads]
            ):
                n, rate = convert_rate(
                    fmt, root, Path(tmp) / f"out-{fmt}-{threads}", args.size, threads
                )
                rows.append((fmt, threads, n, rate))
    base = next(rate for fmt, threads, _, rate in rows if fmt == "siim" and threads == args.threads)
    print(f"{args.images} look-alike images per format, {args.source_size} px -> {args.size} px")
    print(f"{'format':<14} {'workers':>8} {'images':>7} {'images/s':>9} {'vs siim':>8}")
    for fmt, threads, n, rate in rows:
        print(f"{fmt:<14} {threads:>8} {n:>7} {rate:>9.1f} {rate / base:>8.2f}")


if __name__ == "__main__":
    main()
