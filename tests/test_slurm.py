"""The workflow through a real single-node SLURM cluster with GPUs, two partitions and job
accounting.

The cluster (tests/slurm_cluster.py, .ci/slurm-cluster.sh) has two fake GPUs, partitions ``cpu``
(the default) and ``gpu``, and slurmdbd (so ``sacct`` works) with an account ``ci_lab``. Three
runs share it at once: a few rules (the GPU rule training and the grouped small CPU steps) through
profiles/slurm as a user of such a cluster would adapt it (its partitions example switched on,
the account set once, the plugin's default status command sacct); a dataset whose conversion
fails; and a job that fails for memory once and is retried with more (the profile's retries),
both through profiles/slurm as shipped. The CPU-only cluster runs in tests/test_slurm_cpu.py.
"""

import subprocess

import pytest
import yaml
from conftest import ROOT, flaky_workflow
from slurm_cluster import (
    logs_of,
    profile_with,
    slurm_jobs,
    snakemake_slurm,
    start_cluster,
    submitted,
    wait_all,
)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

# a few rules: a GPU rule (training; the whole workflow runs in tests/test_slurm_cpu.py) and
# the grouped small CPU steps
TARGETS = [
    "results/pneumothorax/models/tiny_r1/test_metrics.json",
    "results/pneumothorax/splits/sample.csv",
    "results/pneumothorax/figures/qc.png",
]
# the SLURM jobs those targets make, by their sbatch --comment
EXPECTED_SLURM_JOBS = {
    "rule_synthesize_wildcards_pneumothorax",
    "rule_convert_wildcards_pneumothorax",
    "rule_small_cpu_qc_figure_sample_split",  # group job: split, sample, qc_figure
    "rule_train_classifier_wildcards_pneumothorax_tiny_r1",
}
GPU_RULES = ("train_classifier",)
BROKEN_TARGET = "results/pneumothorax/images/images.npy"
PROFILE = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
RETRIES = 1  # the failing run's (the profile's 2 would only take longer)
ACCOUNT = "ci_lab"


@pytest.fixture(scope="module")
def slurm(request):
    return start_cluster(
        request,
        SLURM_FAKE_GPUS="2",
        SLURM_PARTITIONS="cpu gpu",
        SLURM_ACCOUNTING="1",
        SLURM_ACCOUNT=ACCOUNT,
    )


def broken_dataset_config(tmp_path):
    """configs/test.yaml, but pneumothorax is a real-layout dataset whose label CSV names an
    image that is not there: its convert job fails inside SLURM."""
    root = tmp_path / "broken-siim"
    (root / "dicom-images-train").mkdir(parents=True)
    (root / "train-rle.csv").write_text("ImageId, EncodedPixels\n1.2.3.does.not.exist, -1\n")
    config = yaml.safe_load((ROOT / "configs/test.yaml").read_text())
    config["datasets"]["pneumothorax"] = {
        "format": "siim",
        "task": "segmentation",
        "root": str(root),
    }
    configfile = tmp_path / "broken.yaml"
    configfile.write_text(yaml.safe_dump(config))
    return configfile


@pytest.fixture(scope="module")
def runs(slurm, tmp_path_factory):
    """The three runs at once on the one cluster, each in its own fresh work dir: most of
    their time is the plugin's polling, so one after the other would take minutes longer."""
    base = tmp_path_factory.mktemp("slurm")
    good, bad, flaky = base / "good", base / "bad", base / "flaky"
    for workdir in (good, bad, flaky):
        workdir.mkdir()
    config = ["--configfile", str(ROOT / "configs/test.yaml")]
    adapted = profile_with(
        base,
        **{
            "slurm-partition-config": "partitions.example.yaml",
            "default-resources": {**PROFILE["default-resources"], "slurm_account": ACCOUNT},
            "slurm-status-command": None,  # the plugin's default: sacct
        },
    )
    procs = [
        snakemake_slurm(good, slurm, TARGETS, 300, profile=adapted, args=config),
        snakemake_slurm(
            bad,
            slurm,
            [BROKEN_TARGET],
            240,
            args=["--configfile", str(broken_dataset_config(base)), "--retries", str(RETRIES)],
        ),
        snakemake_slurm(flaky, slurm, [], 180, snakefile=flaky_workflow(flaky)),
    ]
    results = wait_all(procs)
    for name, result in zip(("workflow", "failing workflow", "retried job"), results, strict=True):
        print(f"SLURM run of the {name}: rc {result.returncode}, {result.seconds:.0f} s")
    return dict(zip(("good", "bad", "flaky"), results, strict=True))


def test_workflow_runs_through_sbatch_gpu_jobs_on_the_gpu_partition_with_the_account(runs, slurm):
    run = runs["good"]
    assert run.returncode != 124, f"ran past its time limit:\n{run.output[-8000:]}"
    assert run.returncode == 0, f"{run.output[-8000:]}\n{logs_of(run.workdir)}"
    for target in TARGETS:
        assert (run.workdir / target).is_file(), target
    # submitted with sbatch: one line per SLURM job, and each job's SLURM log kept
    ids = submitted(run.output)
    assert len(ids) == len(EXPECTED_SLURM_JOBS), run.output
    assert "6 of 6 steps (100%) done" in run.output, run.output
    logs = run.workdir / ".snakemake/slurm_logs"
    for rule in GPU_RULES:
        assert list((logs / f"rule_{rule}").rglob("*.log")), rule
    assert list(logs.glob("group_small_cpu*/*.log"))
    # SLURM ran them: all COMPLETED; the GPU rules with a (fake) GPU on the gpu partition, the
    # rest on the cpu partition (the plugin's partition selection from partitions.example.yaml)
    jobs = {job["Comment"]: job for job in slurm_jobs(slurm, run.workdir)}
    assert set(jobs) == EXPECTED_SLURM_JOBS, jobs
    assert sorted(job["JobId"] for job in jobs.values()) == sorted(ids)
    assert {job["JobState"] for job in jobs.values()} == {"COMPLETED"}, jobs
    for comment, job in jobs.items():
        gpu_rule = comment.startswith(tuple(f"rule_{r}_" for r in GPU_RULES))
        assert (job.get("TresPerJob") == "gres:gpu:1") == gpu_rule, job
        assert job["Partition"] == ("gpu" if gpu_rule else "cpu"), job
        assert job["Account"] == ACCOUNT, job
    # the account given once in the profile: no guessing, no warning
    assert "No SLURM account given" not in run.output, run.output
    assert "No account was given" not in run.output, run.output
    # the accounting database has them (the plugin's default status query, sacct, read it)
    proc = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "JobID,Account,State", "-j", ",".join(ids)],
        capture_output=True,
        text=True,
        env=slurm,
    )
    rows = sorted(line.split("|") for line in proc.stdout.split())
    assert rows == sorted([i, ACCOUNT, "COMPLETED"] for i in ids), proc.stdout + proc.stderr


def test_failing_job_is_reported_as_failed_after_its_retries(runs, slurm):
    """The convert job of the broken dataset fails in SLURM on every attempt: snakemake names
    the rule and SLURM's FAILED state, shows the rule's log, and exits non-zero (not by the
    time limit); nothing half-written is left."""
    run = runs["bad"]
    assert run.returncode not in (0, 124), run.output
    assert "has been submitted with SLURM jobid" in run.output, run.output
    assert "Error in rule convert" in run.output, run.output
    assert "SLURM status is: 'FAILED'" in run.output, run.output
    assert "1.2.3.does.not.exist" in run.output, run.output  # show-failed-logs
    log = (run.workdir / "results/logs/convert/pneumothorax.log").read_text()
    assert "has no DICOM file" in log, log
    assert not (run.workdir / BROKEN_TARGET).exists()
    jobs = slurm_jobs(slurm, run.workdir)
    assert [(job["Comment"], job["JobState"]) for job in jobs] == [
        ("rule_convert_wildcards_pneumothorax", "FAILED")
    ] * (1 + RETRIES), jobs


def test_job_failing_for_memory_is_retried_with_more(runs, slurm):
    run = runs["flaky"]
    assert run.returncode == 0, f"{run.output[-8000:]}\n{logs_of(run.workdir)}"
    assert (run.workdir / "flaky.txt").read_text().split() == ["200", "10"]
    jobs = slurm_jobs(slurm, run.workdir)
    assert [job["JobState"] for job in jobs] == ["FAILED", "COMPLETED"], jobs
    # sbatch --mem and -t of each attempt: 100 MB / 5 min, then twice that
    assert [job["MinMemoryNode"] for job in jobs] == ["100M", "200M"], jobs
    assert [job["TimeLimit"] for job in jobs] == ["00:05:00", "00:10:00"], jobs
