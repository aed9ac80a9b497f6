import hashlib
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


def tree_hashes(root) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path (same bytes, same dict)."""
    root = Path(root)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


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


@pytest.fixture(scope="session")
def test_config_run(tmp_path_factory):
    """configs/test.yaml run once for the whole session, in a fresh folder.

    Where a SLURM cluster can start (CI: SALIENCY_AUDIT_SLURM=require), the run goes through a
    real CPU-only cluster with profiles/slurm and ``execution.gpus: 0`` (the README's command for
    such clusters), and the cluster stops right after it; elsewhere the local executor runs it.
    The workflow tests then check the outputs of whichever ran. Returns a namespace: ``workdir``,
    ``slurm`` (None for a local run, else the run's output, seconds, SLURM's job records and
    what the cluster said to a GPU request)."""
    from types import SimpleNamespace

    from slurm_cluster import (
        MODE,
        cluster,
        cluster_available,
        slurm_jobs,
        snakemake_slurm,
        wait_all,
    )

    workdir = tmp_path_factory.mktemp("run")
    slurm = None
    why = cluster_available()
    if why is not None and MODE == "require":
        pytest.fail(f"SALIENCY_AUDIT_SLURM=require, but {why}", pytrace=False)
    if why is None:
        # 4 CPUs advertised on a 2-core CI machine: jobs overlap their start-up and the plugin's
        # polling (measured: 396 s for the run instead of 429 s with 2; a run that also
        # advertised 32 GB, so that 4 TensorFlow jobs ran at once instead of 2, took 578 s)
        with cluster(SLURM_FAKE_GPUS="0", SLURM_PARTITIONS="debug", SLURM_CPUS="4") as env:
            refusal = subprocess.run(
                ["sbatch", "--gpus=1", "--wrap", "true"], capture_output=True, text=True, env=env
            )
            args = ["--configfile", str(ROOT / "configs/test.yaml")]
            args += ["--config", "execution={gpus: 0}"]
            (result,) = wait_all([snakemake_slurm(workdir, env, [], 1200, args=args)])
            print(f"SLURM run of configs/test.yaml on a CPU-only cluster: {result.seconds:.0f} s")
            slurm = SimpleNamespace(
                **vars(result), jobs=slurm_jobs(env, workdir), gpu_refusal=refusal
            )
        if slurm.returncode != 0:
            pytest.fail(f"the SLURM run of configs/test.yaml failed:\n{slurm.output[-8000:]}")
    else:
        run_snakemake(workdir)
    (workdir / "first_run_provenance.json").write_bytes(
        (workdir / "results/provenance.json").read_bytes()
    )
    return SimpleNamespace(workdir=workdir, slurm=slurm)
