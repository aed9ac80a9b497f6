import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def snakemake_cmd(workdir, *args, configfile="configs/test.yaml", quiet=True):
    """The command that runs the workflow in ``workdir`` with the repository's Snakefile
    (``quiet=False``: every job's files are printed, e.g. to check a dry run's plan)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir)]
    if configfile:  # options taking lists go before --cores
        cmd += ["--configfile", str(ROOT / configfile)]  # an absolute path stays as it is
    if quiet:
        cmd += ["--quiet", "rules"]
    return [*cmd, "--cores", "2", *args]


def run_snakemake(
    workdir, *args, configfile="configs/test.yaml", check=True, timeout=900, quiet=True
):
    """Run the workflow in ``workdir``; returns the completed process."""
    cmd = snakemake_cmd(workdir, *args, configfile=configfile, quiet=quiet)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def job_counts(proc):
    """Rule -> job count from the "Job stats" table of a (dry) run; {} when it has none."""
    text = proc.stdout + proc.stderr
    if "Job stats:" not in text:
        return {}
    table = text.split("Job stats:")[1].split("total")[0]
    counts = {}
    for line in table.splitlines()[3:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture(scope="session")
def snakemake_runner():
    return run_snakemake


FLAKY = """\
from saliency_audit.execution import job_resources

rule flaky:
    output: "flaky.txt"
    resources: **job_resources(mem_mb=100, runtime=5)
    shell:
        "if [ {resources.mem_mb} -lt 200 ]; then "
        "echo 'killed: out of memory at {resources.mem_mb} MB' >&2; exit 1; fi; "
        "echo {resources.mem_mb} {resources.runtime} > {output}"
"""


def flaky_workflow(workdir):
    """A job that fails as an out-of-memory kill would until it is given 200 MB."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(FLAKY)
    return workdir / "Snakefile"
