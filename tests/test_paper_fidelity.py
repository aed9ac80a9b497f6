"""docs/paper-fidelity.md against the configs it documents: a row that names a config key must
give the value that configs/paper.yaml and config.yaml resolve to."""

import re
from pathlib import Path

import pytest
import yaml

from saliency_audit import config
from saliency_audit.formats import dataset_options, get_format
from saliency_audit.models.registry import get_architecture
from saliency_audit.saliency.registry import get_method

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs/paper-fidelity.md"


def table_rows():
    """(number, choice, paper, paper.yaml cell, default cell, key cell) of every table row."""
    out = []
    for line in DOC.read_text().splitlines():
        if re.match(r"\| \d+ \|", line):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            assert len(cells) == 6, line
            out.append(cells)
    return out


def literal(cell: str):
    """The YAML value of the first `...` in a cell."""
    found = re.search(r"`([^`]*)`", cell)
    assert found, f"no `value` in {cell!r}"
    return yaml.safe_load(found.group(1))


def resolve(cfg: dict, key: str):
    """The value ``key`` resolves to in a validated config (method parameters and format
    options completed by their registries)."""
    parts = key.split(".")
    if parts[:2] == ["saliency", "params"]:
        method, param = parts[2], parts[3]
        return get_method(method, **cfg["saliency"]["params"].get(method, {})).params[param]
    if parts[:2] == ["saliency", "gradcam_layers"]:
        arch = parts[2]
        return cfg["saliency"]["gradcam_layers"].get(arch, get_architecture(arch).gradcam_layer)
    if parts[0] == "datasets" and len(parts) == 3 and parts[2] in ("classes", "rle_mode"):
        ds = cfg["datasets"][parts[1]]
        return dataset_options(get_format(ds["format"]), ds)[parts[2]]
    if parts[:2] == ["randomization", "blocks"]:
        blocks = cfg["randomization"]["blocks"]
        return blocks.get(parts[2]) if isinstance(blocks, dict) else blocks
    value = cfg
    for p in parts:
        value = value[p]
    return value


ROWS = table_rows()
KEYED = [r for r in ROWS if r[5].startswith("`")]


def test_the_table_covers_every_choice():
    assert len(ROWS) >= 30 and [int(r[0]) for r in ROWS] == list(range(1, len(ROWS) + 1))
    assert len(KEYED) >= 30
    for number, choice, paper, *_ in ROWS:
        assert choice and paper, f"row {number} says nothing of the paper"
    keys = [literal(r[5]) for r in KEYED]
    assert len(keys) == len(set(keys)), "a config key has two rows"


@pytest.mark.parametrize("column, name", [(3, "configs/paper.yaml"), (4, "config.yaml")])
def test_rows_match_the_configs(column, name):
    cfg = config.load(ROOT / name)
    wrong = []
    for row in KEYED:
        key, expected = literal(row[5]), literal(row[column])
        got = resolve(cfg, key)
        if got != expected:
            wrong.append(f"row {row[0]} {key}: the doc says {expected!r}, {name} has {got!r}")
    assert not wrong, "\n".join(wrong)


def test_paper_config_departs_only_where_the_doc_says_so():
    """Every key whose paper value the doc states is set so in configs/paper.yaml; the rows
    whose paper value is unknown say 'not stated'."""
    unknown = [r for r in KEYED if "not stated" in r[2]]
    assert {literal(r[5]) for r in unknown} >= {
        "models.training.epochs",
        "models.training.batch_size",
        "models.training.augment",
    }
