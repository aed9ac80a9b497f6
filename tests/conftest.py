import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_snakemake(workdir, *args, configfile="configs/test.yaml", check=True, timeout=900):
    """Run the workflow in ``workdir`` with the repository's Snakefile; returns the process."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir)]
    if configfile:  # options taking lists go before --cores
        cmd += ["--configfile", str(ROOT / configfile)]  # an absolute path stays as it is
    cmd += ["--quiet", "rules", "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def snakemake_runner():
    return run_snakemake
