"""Where and with what the workflow's jobs run: the resources every rule requests.

Each rule states its first-attempt memory (MB) and run time (minutes); :func:`job_resources`
turns them into Snakemake resources that grow with the attempt, so a job that SLURM killed for
memory or time and that Snakemake retries (``--retries``, set in ``profiles/slurm``) asks for
twice as much on the second attempt, three times on the third. Model jobs (training, evaluation,
saliency maps, randomization) request ``gpus`` GPUs (``execution.gpus``; 0 on a CPU-only
cluster, where a ``--gpus`` request is refused at submission). Where a job runs (partition,
account) is the cluster profile's business, in the SLURM plugin's own keys; none of this changes
what a job computes, so :func:`saliency_audit.provenance.config_hash` leaves it out.
"""

from __future__ import annotations

#: config section that says how jobs run, not what they compute (not part of the config hash)
SECTION = "execution"


def grows(base: int):
    """A Snakemake resource callable: ``base`` on the first attempt, ``k * base`` on the k-th."""
    if base <= 0:
        raise ValueError(f"a resource must be positive, not {base}")

    def value(wildcards, attempt):
        return base * attempt

    value.base = base
    return value


def job_resources(mem_mb: int, runtime: int, gpus: int = 0) -> dict:
    """The ``resources:`` of one rule: memory and run time growing with the attempt, and
    ``gpu`` only where the job asks for GPUs (``gpu=0`` would still be a resource name that a
    cluster profile could map onto a request)."""
    resources = {"mem_mb": grows(mem_mb), "runtime": grows(runtime)}
    if gpus:
        resources["gpu"] = gpus
    return resources
