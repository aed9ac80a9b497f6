"""What produced a run: code, config, packages, machine, determinism settings, times.

Every run writes ``results/provenance.json`` (the workflow's ``onstart``/``onsuccess``/``onerror``
handlers); jobs record the commit and the config hash in every map sidecar, metrics table and
the summary. Both reach the jobs as environment variables (:data:`COMMIT_ENV`,
:data:`CONFIG_HASH_ENV`) that the workflow sets when it parses the config, so that a new commit
does not make Snakemake rerun jobs whose inputs and parameters are unchanged.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from . import io
from .execution import SECTION as EXECUTION

COMMIT_ENV = "SALIENCY_AUDIT_COMMIT"
CONFIG_HASH_ENV = "SALIENCY_AUDIT_CONFIG_HASH"
#: the CPU instruction-set extensions that change TensorFlow's (oneDNN / Eigen) kernels
CPU_FLAGS = (
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "amx_tile",
)
#: environment variables that change numerical results or their determinism
DETERMINISM_ENV = (
    "TF_DETERMINISTIC_OPS",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_CUDNN_DETERMINISTIC",
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "KERAS_BACKEND",
)


def git_state(root: str | os.PathLike) -> dict:
    """``{"commit": sha or "unknown", "dirty": bool or None}`` of the checkout at ``root``."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def redacted(config: dict) -> dict:
    """The config without secrets: the patient-id salt (``privacy.salt``) would let anyone
    with a list of patient ids undo the salted hashes of index.csv."""
    import copy

    out = copy.deepcopy(config)
    if isinstance(out.get("privacy"), dict) and "salt" in out["privacy"]:
        out["privacy"]["salt"] = "<redacted>"
    return out


def config_hash(config: dict) -> str:
    """SHA-256 (first 16 hex digits) of the validated config, keys sorted, without the
    ``execution`` section (GPUs per job: where a job runs, not what it computes, so the same
    audit on a CPU-only and on a GPU cluster records the same hash)."""
    science = {key: value for key, value in config.items() if key != EXECUTION}
    text = json.dumps(science, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def short(commit: str, dirty: bool | None) -> str:
    """``abc1234`` or ``abc1234+dirty`` (the form the results record)."""
    return commit[:12] + ("+dirty" if dirty else "")


def stamp() -> dict:
    """The commit and config hash this job runs under (from the workflow's environment)."""
    return {
        "commit": os.environ.get(COMMIT_ENV, "unknown"),
        "config_hash": os.environ.get(CONFIG_HASH_ENV, "unknown"),
    }


def cpu() -> dict:
    """CPU model, logical cores and the instruction-set flags TensorFlow's kernels use."""
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return {
        "model": model,
        "logical_cores": os.cpu_count(),
        "flags": [f for f in CPU_FLAGS if f in flags],
    }


def gpus() -> list[str]:
    """``nvidia-smi -L`` lines (empty without an NVIDIA GPU or driver)."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def packages() -> dict[str, str]:
    """Every installed distribution and its version, sorted by name."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def record(
    *,
    root: str | os.PathLike,
    config: dict,
    lock: str | os.PathLike | None,
    started: str,
    finished: str | None = None,
    status: str = "running",
) -> dict:
    """The provenance of one run (see the module docstring)."""
    lock_path = Path(lock) if lock else None
    lock_hash = None
    if lock_path is not None and lock_path.is_file():
        lock_hash = hashlib.sha256(lock_path.read_bytes()).hexdigest()[:16]
    return {
        "status": status,
        "started": started,
        "finished": finished,
        "git": git_state(root),
        "config_hash": config_hash(config),
        "config": redacted(config),
        "lock": {"file": str(lock_path) if lock_path else None, "sha256_16": lock_hash},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu(),
        "gpus": gpus(),
        "determinism": {
            "env": {k: os.environ.get(k) for k in DETERMINISM_ENV},
            "seeds": f"every draw derived from config seed {config.get('seed')}",
            "tensorflow": "op determinism on (tf.config.experimental.enable_op_determinism)",
        },
        "packages": packages(),
    }


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def write(path: str | os.PathLike, provenance: dict) -> None:
    io.write_json(path, provenance)
