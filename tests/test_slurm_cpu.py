"""The whole of configs/test.yaml through a real CPU-only SLURM cluster (no GPU gres at all,
one partition, no accounting) with profiles/slurm as shipped and ``execution.gpus`` 0: the
README's command for a CPU-only cluster. (tests/test_slurm.py: the cluster with GPUs.)"""

import subprocess

import pytest
from conftest import ROOT
from slurm_cluster import logs_of, slurm_jobs, snakemake_slurm, start_cluster, submitted, wait_all

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.fixture(scope="module")
def slurm(request):
    # 4 CPUs and 32 GB advertised on a 2-core CI machine (the tiny models need far less than
    # the rules' 8 GB): jobs overlap their start-up and the plugin's polling
    return start_cluster(
        request,
        SLURM_FAKE_GPUS="0",
        SLURM_PARTITIONS="debug",
        SLURM_CPUS="4",
        SLURM_MEM_MB="32768",
    )


def test_the_cluster_refuses_gpu_requests(slurm):
    """What the workflow met on such clusters before execution.gpus: sbatch --gpus fails."""
    proc = subprocess.run(
        ["sbatch", "--gpus=1", "--wrap", "true"], capture_output=True, text=True, env=slurm
    )
    assert proc.returncode != 0
    assert "Invalid generic resource" in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def run(slurm, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm-cpu") / "run"
    workdir.mkdir()
    args = ["--configfile", str(ROOT / "configs/test.yaml"), "--config", "execution={gpus: 0}"]
    (result,) = wait_all([snakemake_slurm(workdir, slurm, [], 1200, args=args)])
    print(f"SLURM run of configs/test.yaml on the CPU-only cluster: {result.seconds:.0f} s")
    return result


def test_whole_test_config_runs_on_a_cpu_only_cluster(run, slurm):
    assert run.returncode != 124, f"ran past its time limit:\n{run.output[-8000:]}"
    assert run.returncode == 0, f"{run.output[-8000:]}\n{logs_of(run.workdir)}"
    assert (run.workdir / "results/report/summary.md").is_file()
    assert "steps (100%) done" in run.output
    jobs = slurm_jobs(slurm, run.workdir)
    assert sorted(job["JobId"] for job in jobs) == sorted(submitted(run.output))
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}, jobs
    assert not [job for job in jobs if "gpu" in job.get("TresPerJob", "")], jobs
    model_jobs = [job for job in jobs if job["Comment"].startswith("rule_train_classifier_")]
    assert len(model_jobs) == 6, [job["Comment"] for job in jobs]
