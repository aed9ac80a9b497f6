"""Throwaway single-node SLURM clusters for the tests (.ci/slurm-cluster.sh) and the workflow
run through them with profiles/slurm.

A cluster fixture starts the daemons (Debian's munge, slurmctld and slurmd; needs root, installs
the packages with apt-get if missing) and always stops them again. SALIENCY_AUDIT_SLURM=require
(set by .ci/run) turns a cluster that cannot start into a failure; unset, the tests skip where it
cannot start (no root, no apt); =skip skips them outright. Only one cluster runs at a time (they
share /etc/slurm and the ports), so each test module starts its own with module scope.
"""

import contextlib
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

SCRIPT = ROOT / ".ci/slurm-cluster.sh"
PROFILE = ROOT / "profiles/slurm"
MODE = os.environ.get("SALIENCY_AUDIT_SLURM", "").lower()
# CI polling. The plugin first polls after slurm-init-seconds-before-status-checks (default 40),
# then adds 10 s to the interval after every poll in which no job ended and goes back to the init
# seconds when one does. squeue mode needs the cluster's MinJobAge (CI: 3600 s) >= 3 x init seconds.
FAST_POLLING = [
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
]


def unavailable(reason):
    if MODE == "require":
        pytest.fail(f"SALIENCY_AUDIT_SLURM=require, but {reason}", pytrace=False)
    pytest.skip(reason)


def cluster_cmd(action, base, timeout, env=None):
    return subprocess.run(
        ["bash", str(SCRIPT), action, str(base)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def cluster_available():
    """None where a cluster can be started here, else why not (after SALIENCY_AUDIT_SLURM)."""
    if MODE in ("skip", "0", "off", "no"):
        return f"SALIENCY_AUDIT_SLURM={MODE}"
    if os.geteuid() != 0:
        return "starting a SLURM cluster needs root (apt-get, daemons, /etc/slurm)"
    if not shutil.which("sbatch") and not shutil.which("apt-get"):
        return "no SLURM installed and no apt-get to install it"
    return None


@contextlib.contextmanager
def cluster(**settings):
    """A running cluster (``settings``: the script's SLURM_* variables, e.g.
    SLURM_FAKE_GPUS="0"), stopped again on leaving; yields the environment that reaches it
    (SLURM_CONF, this venv on PATH). Raises RuntimeError when it cannot start."""
    # munged (user munge) must reach its socket: a 0755 directory right under /tmp
    base = Path(tempfile.mkdtemp(prefix="saliency-slurm-", dir="/tmp"))
    try:
        try:
            proc = cluster_cmd("start", base, timeout=600, env=settings)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(
                f"slurm-cluster.sh start timed out:\n{exc.stdout}\n{exc.stderr}"
            ) from None
        if proc.returncode != 0:
            raise RuntimeError(
                f"slurm-cluster.sh start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))
        }
        env.update(
            SLURM_CONF=str(base / "ci-slurm-etc/slurm.conf"),
            # the jobs run `python -m snakemake` and the rules' scripts from this venv (sbatch
            # --export=ALL passes PATH on)
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
            MPLBACKEND="Agg",
            TF_CPP_MIN_LOG_LEVEL="2",
        )
        yield env
    finally:  # also after a failed or half-done start
        proc = cluster_cmd("stop", base, timeout=120)
        # keep the base for a look if stop failed: the daemons may still use it
        assert proc.returncode == 0, f"slurm-cluster.sh stop failed:\n{proc.stdout}\n{proc.stderr}"
        shutil.rmtree(base, ignore_errors=True)


def start_cluster(request, **settings):
    """A cluster for the requesting fixture's scope (:func:`cluster`); skips (or fails, with
    SALIENCY_AUDIT_SLURM=require) where none can start."""
    why = cluster_available()
    if why is not None:
        if MODE in ("skip", "0", "off", "no"):
            pytest.skip(why)
        unavailable(why)
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    try:
        return stack.enter_context(cluster(**settings))
    except RuntimeError as exc:  # cluster() has stopped what it started
        unavailable(str(exc))


def profile_with(tmp_path, **settings):
    """A copy of profiles/slurm (with its partitions example) plus ``settings``, as a user
    would adapt it to their cluster."""
    profile = tmp_path / "profile"
    shutil.copytree(PROFILE, profile)
    config = yaml.safe_load((profile / "config.yaml").read_text())
    config.update(settings)
    (profile / "config.yaml").write_text(yaml.safe_dump(config))
    return profile


def snakemake_slurm(workdir, env, targets, limit, *, snakefile=None, profile=PROFILE, args=()):
    """Start the workflow in ``workdir`` through SLURM (SIGINT, i.e. scancel, after ``limit`` s);
    ``wait_all`` waits for it. ``args``: further options (e.g. --configfile, --config)."""
    cmd = ["timeout", "-s", "INT", "-k", "30", str(limit)]
    cmd += [sys.executable, "-m", "snakemake", "-s", str(snakefile or ROOT / "Snakefile")]
    # options taking lists (--configfile, --config) first: --profile ends them
    cmd += [*args, "--profile", str(profile), *FAST_POLLING, *targets]
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
    """Wait for the runs (`timeout` ends each by its limit + 30 s; this is a safety net); on an
    error (or Ctrl-C) in the test itself, never leave a snakemake behind."""
    ended = {}
    try:
        deadline = time.monotonic() + max(proc.limit for proc in procs) + 60
        while len(ended) < len(procs) and time.monotonic() < deadline:
            for proc in procs:
                if proc not in ended and proc.poll() is not None:
                    ended[proc] = time.monotonic()
            time.sleep(0.5)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                ended[proc] = time.monotonic()
    return [
        SimpleNamespace(
            returncode=proc.returncode,
            output=proc.logfile.read_text(errors="replace"),
            workdir=proc.workdir,
            seconds=ended[proc] - proc.t0,
        )
        for proc in procs
    ]


def slurm_jobs(env, workdir):
    """SLURM's own record of the jobs run from ``workdir``: one dict of fields per job, in
    submission order."""
    proc = subprocess.run(
        ["scontrol", "--oneliner", "show", "job"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0 or "No jobs" in proc.stdout + proc.stderr, proc.stderr
    jobs = []
    for line in proc.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields.get("WorkDir") == str(workdir):
            jobs.append(fields)
    return sorted(jobs, key=lambda job: int(job["JobId"]))


def logs_of(workdir):
    """The SLURM job logs, for failure messages."""
    out = []
    for log in sorted((workdir / ".snakemake/slurm_logs").rglob("*.log")):
        out.append(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}")
    return "\n".join(out)


def submitted(output):
    """The SLURM job ids snakemake reported submitting."""
    return re.findall(r"has been submitted with SLURM jobid (\d+)", output)
