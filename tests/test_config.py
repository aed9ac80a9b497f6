import copy
from pathlib import Path

import pytest
import yaml

from saliency_audit import config
from saliency_audit.errors import InputError
from saliency_audit.formats import FORMATS, dataset_options, get_format
from saliency_audit.models.registry import ARCHITECTURES
from saliency_audit.saliency.registry import method_names

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
    assert cfg["saliency"]["methods"] == method_names()[:8]  # the paper's, in the registry's order
    siim = cfg["datasets"]["pneumothorax"]
    assert dataset_options(get_format("siim"), siim) == {
        "rle_mode": "relative",
        "missing_images": "error",
    }


def test_registry_names_fill_the_schema():
    schema = config.load_schema()
    props = schema["properties"]
    assert props["saliency"]["properties"]["methods"]["items"]["enum"] == method_names()
    assert schema["definitions"]["dataset"]["properties"]["format"]["enum"] == list(FORMATS)
    arch = props["models"]["properties"]["classifiers"]["additionalProperties"]["properties"]
    assert arch["arch"]["enum"] == list(ARCHITECTURES)
    assert "x-enum" not in str(schema) and "x-default" not in str(schema)


def test_format_options_are_checked():
    with pytest.raises(InputError, match="format 'siim' has no option.*rle_mod.*rle_mode"):
        dataset_options(get_format("siim"), {"options": {"rle_mod": "absolute"}})
    assert dataset_options(get_format("siim"), {"options": {"rle_mode": "absolute"}}) == {
        "rle_mode": "absolute",
        "missing_images": "error",
    }
    # a top-level key that is another format's option is an error, not silently ignored
    with pytest.raises(InputError, match="format 'siim' has no option.*target.*rle_mode"):
        dataset_options(get_format("siim"), {"target": "Cardiomegaly"})
    nih = dataset_options(get_format("nih"), {"target": "Cardiomegaly", "negatives": "normal"})
    assert nih["target"] == "Cardiomegaly" and nih["negatives"] == "normal"


def test_schema_ships_in_the_wheel(tmp_path):
    """A non-editable install must find its schema: it is package data of the wheel."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    assert "saliency_audit/config.schema.yaml" in zipfile.ZipFile(wheel).namelist()


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
        (lambda c: c["saliency"].update(methods=["GRAD", "LIME"]), "saliency.methods.1: 'LIME'"),
        (
            lambda c: c["saliency"].update(params={"GRADD": {}}),
            "unknown config key saliency.params.GRADD \\(allowed: GRAD, SG",
        ),
    ],
)
def test_bad_config_names_the_key(edit, message):
    cfg = copy.deepcopy(base())
    edit(cfg)
    with pytest.raises(InputError, match=message):
        config.validate(cfg)
