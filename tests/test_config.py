import copy
from pathlib import Path

import pytest
import yaml

from saliency_audit import config
from saliency_audit.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["config.yaml", "configs/paper.yaml", "configs/test.yaml"])
def test_shipped_configs_are_valid(name):
    cfg = config.load(ROOT / name)
    assert cfg["seed"] >= 0 and cfg["datasets"]


def base():
    return yaml.safe_load((ROOT / "configs/test.yaml").read_text())


def test_defaults_are_filled():
    cfg = config.validate(base())
    assert cfg["convert"]["skip_unreadable"] is False
    assert cfg["split"]["fractions"] == {"train": 0.6, "val": 0.2, "test": 0.2}
    assert cfg["datasets"]["pneumothorax"]["rle_mode"] == "relative"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(sead=1), "unknown config key sead"),
        (
            lambda c: c["datasets"]["pneumonia"]["synthetic"].update(n_imgs=3),
            "unknown config key datasets.pneumonia.synthetic.n_imgs",
        ),
        (lambda c: c.update(image_size="big"), "config key image_size: 'big' is not of type"),
        (lambda c: c["datasets"]["pneumonia"].update(format="png"), "datasets.pneumonia.format"),
        (lambda c: c["datasets"]["pneumonia"].update(root="/data"), "exactly one of 'root'"),
        (lambda c: c["sample"].update(n=0), "config key sample.n"),
    ],
)
def test_bad_config_names_the_key(edit, message):
    cfg = copy.deepcopy(base())
    edit(cfg)
    with pytest.raises(InputError, match=message):
        config.validate(cfg)
