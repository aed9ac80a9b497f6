"""requirements/lock.txt pins every dependency of pyproject.toml (and the conda envs) to one
version that satisfies it: two installs through the lock resolve the same versions."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements/lock.txt"


def pins() -> dict[str, str]:
    out = {}
    for line in LOCK.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if found:
            out[canonicalize_name(found.group(1))] = found.group(2)
    return out


def test_lock_satisfies_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *extras["test"], *extras["torch"], *extras["jax"]]
    locked = pins()
    wrong = []
    for text in wanted:
        req = Requirement(text)
        version = locked.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            wrong.append(f"{text}: lock has {version}")
    assert not wrong, "pyproject.toml and requirements/lock.txt disagree:\n" + "\n".join(wrong)
    assert len(locked) > len(wanted)  # transitive dependencies are pinned too


def test_lock_is_the_tool_output_with_its_command():
    head = LOCK.read_text().splitlines()[:6]
    assert any("pip-compile" in line and "--extra=test" in line for line in head)


def test_conda_envs_install_through_the_lock():
    locked = pins()
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        deps = yaml.safe_load(env.read_text())["dependencies"]
        assert "python=3.11" in deps, env.name
        pip = next(d["pip"] for d in deps if isinstance(d, dict))
        assert pip[0] == "-c ../requirements/lock.txt", env.name
        for name in pip[1:]:
            assert canonicalize_name(name) in locked, f"{env.name}: {name} is not in the lock"
