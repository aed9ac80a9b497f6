"""The whole of configs/test.yaml through a real CPU-only SLURM cluster (no GPU gres at all,
one partition, no accounting) with profiles/slurm as shipped and ``execution.gpus`` 0: the
README's command for a CPU-only cluster. The run is the session's run of the test config
(conftest.test_config_run), whose outputs tests/test_workflow.py checks in depth; here, what
SLURM recorded. (tests/test_slurm.py: the cluster with GPUs.)"""

import pytest
from slurm_cluster import logs_of, submitted

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.fixture(scope="module")
def run(test_config_run):
    if test_config_run.slurm is None:
        pytest.skip("no SLURM cluster here: the test config ran with the local executor")
    return test_config_run.slurm


def test_the_cluster_refuses_gpu_requests(run):
    """What the workflow met on such clusters before execution.gpus: sbatch --gpus fails."""
    assert run.gpu_refusal.returncode != 0
    assert "Invalid generic resource" in run.gpu_refusal.stderr, run.gpu_refusal.stderr


def test_whole_test_config_runs_on_a_cpu_only_cluster(run):
    assert run.returncode == 0, f"{run.output[-8000:]}\n{logs_of(run.workdir)}"
    assert (run.workdir / "results/report/summary.md").is_file()
    assert "64 of 64 steps (100%) done" in run.output
    jobs = run.jobs
    assert sorted(job["JobId"] for job in jobs) == sorted(submitted(run.output))
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}, jobs
    assert not [job for job in jobs if "gpu" in job.get("TresPerJob", "")], jobs
    model_jobs = [job for job in jobs if job["Comment"].startswith("rule_train_classifier_")]
    assert len(model_jobs) == 6, [job["Comment"] for job in jobs]
