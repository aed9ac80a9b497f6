"""What each job requests: GPUs only from the model rules (none with execution.gpus 0), memory
and run time growing with the attempt so that a retried job gets more, and the execution section
left out of the config hash. (tests/test_slurm*.py run the same through a real SLURM.)"""

import re
import subprocess
import sys

import pytest
from conftest import ROOT, flaky_workflow, run_snakemake

from saliency_audit import config as config_schema
from saliency_audit.errors import InputError
from saliency_audit.execution import grows, job_resources
from saliency_audit.provenance import config_hash

# the rules whose jobs run a model (TensorFlow) and so may want a GPU; configs/test.yaml runs the
# per-model layouts (saliency_all_methods, randomize_<model>), evaluate_classifier only imports
MODEL_RULES = {"train_classifier", "train_baseline", "saliency_all_methods", "randomize_tiny_r1"}


def planned_resources(tmp_path, *args):
    """rule -> set of resource strings of its jobs, from a dry run of configs/test.yaml."""
    proc = run_snakemake(tmp_path, "-n", *args, quiet=False)
    text = proc.stdout + proc.stderr
    out = {}
    for rule, body in re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\[|\Z)", text, re.M | re.S):
        found = re.search(r"^\s+resources: (.*)$", body, re.M)
        out.setdefault(rule, set()).add(found.group(1) if found else "")
    return out


def test_resources_grow_with_the_attempt():
    mem = grows(8000)
    assert [mem(None, attempt) for attempt in (1, 2, 3)] == [8000, 16000, 24000]
    res = job_resources(mem_mb=1000, runtime=30, gpus=2)
    assert res["gpu"] == 2 and res["runtime"](None, 2) == 60
    assert "gpu" not in job_resources(mem_mb=1000, runtime=30, gpus=0)
    with pytest.raises(ValueError):
        grows(0)


def test_only_model_jobs_request_gpus_and_none_with_gpus_zero(tmp_path):
    default = planned_resources(tmp_path / "gpu")
    assert set(default) >= MODEL_RULES | {"convert", "method_metrics", "stats"}
    for rule, resources in default.items():
        wants_gpu = {("gpu=1" in r.split(", ")) for r in resources}
        assert wants_gpu == {rule in MODEL_RULES}, (rule, resources)
    # first attempt: the rule's own figures (train_classifier: 8000 MB, 240 min)
    assert any("runtime=240" in r and "mem_mb=8000" in r for r in default["train_classifier"])
    cpu_only = planned_resources(tmp_path / "cpu", "--config", "execution={gpus: 0}")
    assert set(cpu_only) == set(default)
    assert not [rule for rule, res in cpu_only.items() if any("gpu" in r for r in res)]


def test_every_rule_takes_its_resources_from_the_helpers():
    """No rule states mem_mb/runtime/gpu by hand (they would not grow on a retry)."""
    for path in sorted((ROOT / "workflow/rules").glob("*.smk")):
        text = path.read_text()
        blocks = re.findall(r"^\s*resources:\n(\s*.*)$", text, re.M)
        assert blocks or path.name == "common.smk", path
        for line in blocks:
            helper = r"\s*\*\*(cpu|gpu)_job\(mem_mb=\d+, runtime=\d+\),$"
            assert re.match(helper, line), (path, line)


@pytest.mark.parametrize("retries", [0, 1])
def test_a_job_failing_once_succeeds_on_retry_with_more(tmp_path, retries):
    snakefile = flaky_workflow(tmp_path)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(tmp_path)]
    cmd += ["--cores", "1", "--retries", str(retries)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if retries == 0:
        assert proc.returncode != 0 and "out of memory at 100 MB" in proc.stderr
        assert not (tmp_path / "flaky.txt").exists()
    else:
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "flaky.txt").read_text().split() == ["200", "10"]


def minimal(**extra):
    dataset = {"format": "siim", "task": "segmentation", "synthetic": {"n_images": 10}}
    return config_schema.validate({"datasets": {"d": dataset}, **extra})


def test_execution_is_validated_and_left_out_of_the_config_hash():
    base = minimal()
    assert base["execution"] == {"gpus": 1}
    assert config_hash(minimal(execution={"gpus": 0})) == config_hash(base)
    assert config_hash(minimal(seed=1)) != config_hash(base)
    with pytest.raises(InputError, match="execution.gpu "):
        minimal(execution={"gpu": 0})


def test_nested_config_values_given_as_text_on_the_command_line_are_typed():
    """snakemake --config execution='{gpus: 0}' hands over {'gpus': '0'} (YAML BaseLoader)."""
    cfg = minimal(execution={"gpus": "0"}, saliency={"batch_size": "8", "gradcam_layers": {}})
    assert cfg["execution"]["gpus"] == 0 and cfg["saliency"]["batch_size"] == 8
    with pytest.raises(InputError, match="execution.gpus"):
        minimal(execution={"gpus": "two"})
