"""The workflow through a real single-node SLURM cluster (profiles/slurm, sbatch, squeue).

The module starts a throwaway cluster with .ci/slurm-cluster.sh (Debian's munge, slurmctld and
slurmd; needs root, installs the packages with apt-get if missing) and always stops it again.
SALIENCY_AUDIT_SLURM=require (set by .ci/run) turns a cluster that cannot start into a failure;
unset, the tests skip where it cannot start (no root, no apt); =skip skips them outright.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import ROOT

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = ROOT / ".ci/slurm-cluster.sh"
MODE = os.environ.get("SALIENCY_AUDIT_SLURM", "").lower()
# CI polling. The plugin first polls after slurm-init-seconds-before-status-checks (default 40),
# then adds 10 s to the interval after every poll in which no job ended and goes back to the init
# seconds when one does. squeue mode needs the cluster's MinJobAge (300 s) >= 3 x init seconds.
FAST_POLLING = [
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
]
# a few rules, two GPU rules (training, saliency maps), and the grouped small CPU steps
TARGETS = [
    "results/pneumothorax/models/tiny_r1/test_metrics.json",
    "results/pneumothorax/saliency/tiny_r1/GRAD.npy",
    "results/pneumothorax/splits/sample.csv",
    "results/pneumothorax/figures/qc.png",
]
# the SLURM jobs those targets make, by their sbatch --comment
EXPECTED_SLURM_JOBS = {
    "rule_synthesize_wildcards_pneumothorax",
    "rule_convert_wildcards_pneumothorax",
    "rule_small_cpu_qc_figure_sample_split",  # group job: split, sample, qc_figure
    "rule_train_classifier_wildcards_pneumothorax_tiny_r1",
    "rule_saliency_all_methods_wildcards_pneumothorax_tiny_r1",
}
GPU_RULES = ("train_classifier", "saliency_all_methods")
BROKEN_TARGET = "results/pneumothorax/images/images.npy"


def unavailable(reason):
    if MODE == "require":
        pytest.fail(f"SALIENCY_AUDIT_SLURM=require, but {reason}", pytrace=False)
    pytest.skip(reason)


def cluster_cmd(action, base, timeout):
    return subprocess.run(
        ["bash", str(SCRIPT), action, str(base)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def slurm(request):
    """A running cluster; returns the environment that reaches it (SLURM_CONF, venv on PATH)."""
    if MODE in ("skip", "0", "off", "no"):
        pytest.skip(f"SALIENCY_AUDIT_SLURM={MODE}")
    if os.geteuid() != 0:
        unavailable("starting a SLURM cluster needs root (apt-get, daemons, /etc/slurm)")
    if not shutil.which("sbatch") and not shutil.which("apt-get"):
        unavailable("no SLURM installed and no apt-get to install it")
    # munged (user munge) must reach its socket: a 0755 directory right under /tmp
    base = Path(tempfile.mkdtemp(prefix="saliency-slurm-", dir="/tmp"))

    def stop():
        proc = cluster_cmd("stop", base, timeout=120)
        # keep the base for a look if stop failed: the daemons may still use it
        assert proc.returncode == 0, f"slurm-cluster.sh stop failed:\n{proc.stdout}\n{proc.stderr}"
        shutil.rmtree(base, ignore_errors=True)

    request.addfinalizer(stop)  # also after a failed or half-done start
    try:
        proc = cluster_cmd("start", base, timeout=600)
    except subprocess.TimeoutExpired as exc:
        unavailable(f"slurm-cluster.sh start timed out:\n{exc.stdout}\n{exc.stderr}")
    if proc.returncode != 0:
        unavailable(
            f"slurm-cluster.sh start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env.update(
        SLURM_CONF=str(base / "ci-slurm-etc/slurm.conf"),
        # the jobs run `python -m snakemake` and the rules' scripts from this venv (sbatch
        # --export=ALL passes PATH on)
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    return env


def snakemake_slurm(workdir, env, configfile, targets, limit):
    """Start the workflow in ``workdir`` through SLURM (SIGINT, i.e. scancel, after ``limit`` s);
    ``wait_all`` waits for it."""
    cmd = ["timeout", "-s", "INT", "-k", "30", str(limit)]
    cmd += [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
    cmd += ["--configfile", str(configfile), "--profile", str(ROOT / "profiles/slurm")]
    cmd += [*FAST_POLLING, *targets]
    logfile = workdir.parent / f"{workdir.name}.snakemake.out"
    with open(logfile, "w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    proc.limit, proc.logfile, proc.workdir, proc.t0 = limit, logfile, workdir, time.monotonic()
    return proc


def wait_all(procs):
    """Wait for the runs (`timeout` ends each by its limit + 30 s; this is a safety net)."""
    deadline = time.monotonic() + max(proc.limit for proc in procs) + 60
    ended = {}
    while len(ended) < len(procs) and time.monotonic() < deadline:
        for proc in procs:
            if proc not in ended and proc.poll() is not None:
                ended[proc] = time.monotonic()
        time.sleep(0.5)
    results = []
    for proc in procs:
        if proc not in ended:
            proc.kill()
            proc.wait()
            ended[proc] = time.monotonic()
        results.append(
            SimpleNamespace(
                returncode=proc.returncode,
                output=proc.logfile.read_text(errors="replace"),
                workdir=proc.workdir,
                seconds=ended[proc] - proc.t0,
            )
        )
    return results


def slurm_jobs(env, workdir):
    """SLURM's own record of the jobs run from ``workdir``: one dict of fields per job."""
    proc = subprocess.run(
        ["scontrol", "--oneliner", "show", "job"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0 or "No jobs" in proc.stdout + proc.stderr, proc.stderr
    jobs = []
    for line in proc.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields.get("WorkDir") == str(workdir):
            jobs.append(fields)
    return jobs


def logs_of(workdir):
    """The SLURM job logs, for failure messages."""
    out = []
    for log in sorted((workdir / ".snakemake/slurm_logs").rglob("*.log")):
        out.append(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}")
    return "\n".join(out)


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
    """Both workflow runs at once on the one cluster, each in its own fresh work dir: most of
    their time is the plugin's polling, so one after the other would take a minute longer."""
    good = tmp_path_factory.mktemp("slurm") / "good"
    bad = tmp_path_factory.mktemp("slurm") / "bad"
    good.mkdir()
    bad.mkdir()
    procs = []
    try:
        procs.append(snakemake_slurm(good, slurm, ROOT / "configs/test.yaml", TARGETS, 300))
        broken = broken_dataset_config(bad.parent)
        procs.append(snakemake_slurm(bad, slurm, broken, [BROKEN_TARGET], 180))
        results = wait_all(procs)
    finally:
        for proc in procs:  # only after an error above: never leave a snakemake behind
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    for name, result in zip(("workflow", "failing workflow"), results, strict=True):
        print(f"SLURM run of the {name}: rc {result.returncode}, {result.seconds:.0f} s")
    return dict(zip(("good", "bad"), results, strict=True))


def test_workflow_runs_through_sbatch(runs, slurm):
    run = runs["good"]
    assert run.returncode != 124, f"ran past its time limit:\n{run.output[-8000:]}"
    assert run.returncode == 0, f"{run.output[-8000:]}\n{logs_of(run.workdir)}"
    for target in TARGETS:
        assert (run.workdir / target).is_file(), target
    # submitted with sbatch: one line per SLURM job, and each job's SLURM log kept
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", run.output)
    assert len(submitted) == len(EXPECTED_SLURM_JOBS), run.output
    assert "7 of 7 steps (100%) done" in run.output, run.output
    logs = run.workdir / ".snakemake/slurm_logs"
    for rule in GPU_RULES:
        assert list((logs / f"rule_{rule}").rglob("*.log")), rule
    assert list(logs.glob("group_small_cpu*/*.log"))
    # and SLURM ran them: all COMPLETED, the GPU rules with a (fake) GPU allocated
    jobs = {job["Comment"]: job for job in slurm_jobs(slurm, run.workdir)}
    assert set(jobs) == EXPECTED_SLURM_JOBS, jobs
    assert sorted(job["JobId"] for job in jobs.values()) == sorted(submitted)
    assert {job["JobState"] for job in jobs.values()} == {"COMPLETED"}, jobs
    for comment, job in jobs.items():
        gpus = job.get("TresPerJob") == "gres:gpu:1"
        assert gpus == comment.startswith(tuple(f"rule_{r}_" for r in GPU_RULES)), job


def test_failing_job_is_reported_as_failed(runs, slurm):
    """The convert job of the broken dataset fails in SLURM: snakemake names the rule and
    SLURM's FAILED state, shows the rule's log, and exits non-zero (not by the time limit)."""
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
    ], jobs
