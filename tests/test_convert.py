"""Conversion of real-layout datasets (written by the synthetic generator) to stacks."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from saliency_audit import imageops, rle
from saliency_audit.convert import INDEX_COLUMNS, OUTPUTS, ConvertOptions
from saliency_audit.convert import convert_dataset as convert_to
from saliency_audit.errors import AnnotationError, DicomError, InputError
from saliency_audit.formats import read_dataset
from saliency_audit.paths import TEMPLATES
from saliency_audit.synth import write_rsna, write_siim

SIZE = 32


@pytest.fixture(scope="module")
def siim_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("siim") / "data"
    write_siim(root, n_images=12, positive_rate=0.5, size=128, seed=5)
    return root


@pytest.fixture(scope="module")
def rsna_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("rsna") / "data"
    write_rsna(root, n_images=12, positive_rate=0.5, size=128, seed=5)
    return root


def options(**kw):
    return ConvertOptions(size=SIZE, salt="s", **kw)


def convert_dataset(records, folder, opts, **kw):
    """Convert into ``folder`` under the workflow's file names."""
    out = {k: Path(folder) / Path(TEMPLATES[k]).name for k in OUTPUTS}
    return convert_to(records, out, opts, **kw)


def test_siim_conversion_matches_decoded_rle(siim_root, tmp_path):
    records = read_dataset("siim", siim_root)
    summary = convert_dataset(records, tmp_path, options(), name="t")
    images = np.load(tmp_path / "images.npy")
    masks = np.load(tmp_path / "masks.npy")
    index = pd.read_csv(tmp_path / "index.csv", dtype={"image_id": str})
    assert list(index.columns) == INDEX_COLUMNS
    assert images.shape == masks.shape == (len(records), SIZE, SIZE)
    assert summary["images"] == len(records) and summary["skipped"] == []
    assert not list(tmp_path.glob(".*"))  # no temporary files left
    for rec, row in zip(records, index.itertuples(), strict=True):
        assert rec.image_id == row.image_id and rec.label == row.label
        full = np.zeros((row.orig_rows, row.orig_cols), np.uint8)
        for region in rec.regions:
            rle.decode(region.encoded, full.shape, out=full)
        np.testing.assert_array_equal(masks[row.index], imageops.resize_mask(full, (SIZE, SIZE)))
    assert set(index["transfer_syntax"]) == {"1.2.840.10008.1.2.4.50"}
    assert index["patient_hash"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_parallel_conversion_equals_serial(siim_root, tmp_path):
    records = read_dataset("siim", siim_root)
    convert_dataset(records, tmp_path / "a", options(), threads=1)
    convert_dataset(records, tmp_path / "b", options(), threads=2)
    for name in ("images.npy", "masks.npy", "index.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_rsna_boxes_become_inclusive_masks(rsna_root, tmp_path):
    records = read_dataset("rsna", rsna_root, options={"classes": ["Lung Opacity", "Normal"]})
    convert_dataset(records, tmp_path, options())
    masks = np.load(tmp_path / "masks.npy")
    boxes = pd.read_csv(tmp_path / "boxes.csv", dtype={"image_id": str})
    index = pd.read_csv(tmp_path / "index.csv", dtype={"image_id": str})
    assert set(boxes["index"]) == set(index.loc[index["label"] == 1, "index"])
    expected = np.zeros_like(masks)
    for b in boxes.itertuples():
        expected[b.index, b.y0 : b.y1 + 1, b.x0 : b.x1 + 1] = 1
    np.testing.assert_array_equal(masks, expected)


def test_box_outside_image_names_the_row(rsna_root, tmp_path):
    root = tmp_path / "data"
    import shutil

    shutil.copytree(rsna_root, root)
    labels = root / "stage_2_train_labels.csv"
    lines = labels.read_text().splitlines()
    pid = next(line.split(",")[0] for line in lines[1:] if line.endswith(",1"))
    labels.write_text("\n".join(lines + [f"{pid},100.0,100.0,200.0,20.0,1"]) + "\n")
    records = read_dataset("rsna", root)
    with pytest.raises(AnnotationError, match=rf"row {len(lines) + 1}: box .* extends outside"):
        convert_dataset(records, tmp_path / "out", options())
    assert not (tmp_path / "out" / "images.npy").exists()


@pytest.mark.parametrize("threads", [1, 2])
def test_malformed_rle_names_the_row(siim_root, tmp_path, threads):
    """Also through the worker pool: errors must survive pickling with their message."""
    records = read_dataset("siim", siim_root)
    positive = next(r for r in records if r.label)
    positive.regions[0] = dataclasses.replace(positive.regions[0], encoded=" 1 2 3", line=99)
    with pytest.raises(AnnotationError, match="train-rle.csv, row 99: .*odd number"):
        convert_dataset(records, tmp_path, options(), threads=threads)
    assert not list(tmp_path.glob("*.npy")) and not list(tmp_path.glob(".*"))


def test_errors_survive_pickling():
    import pickle

    for exc in (AnnotationError("a.csv", 3, "bad box"), DicomError("b.dcm", "truncated")):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and str(again) == str(exc)


def test_unreadable_dicom_stops_or_is_skipped(siim_root, tmp_path):
    root = tmp_path / "data"
    import shutil

    shutil.copytree(siim_root, root)
    records = read_dataset("siim", root)
    victim = next(r for r in records if r.label == 0)
    victim.path.write_bytes(b"not a dicom at all")
    with pytest.raises(DicomError, match=str(victim.path.name)):
        convert_dataset(records, tmp_path / "out", options(), threads=2)
    summary = convert_dataset(records, tmp_path / "out", options(skip_unreadable=True))
    assert [s["image_id"] for s in summary["skipped"]] == [victim.image_id]
    index = pd.read_csv(tmp_path / "out" / "index.csv", dtype={"image_id": str})
    assert len(index) == len(records) - 1 and victim.image_id not in set(index["image_id"])
    assert np.load(tmp_path / "out" / "images.npy").shape[0] == len(records) - 1


def test_dataset_without_positives_is_refused(siim_root, tmp_path):
    records = [r for r in read_dataset("siim", siim_root) if r.label == 0]
    with pytest.raises(InputError, match="no positive images"):
        convert_dataset(records, tmp_path, options(), name="demo")


def test_positives_without_ground_truth_skipped_or_kept(siim_root, tmp_path):
    """A positive whose regions paint nothing: skipped (and listed) by default; kept with
    annotated 0 when the dataset keeps unannotated positives for training."""
    records = read_dataset("siim", siim_root)
    blank = next(r for r in records if r.label)
    blank.regions = [dataclasses.replace(blank.regions[0], encoded="-1")]
    summary = convert_dataset(records, tmp_path / "drop", options())
    assert [s["image_id"] for s in summary["skipped"]] == [blank.image_id]
    assert "ground truth is empty" in summary["skipped"][0]["reason"]
    summary = convert_dataset(records, tmp_path / "keep", options(keep_unannotated=True))
    index = pd.read_csv(tmp_path / "keep/index.csv", dtype={"image_id": str})
    assert summary["skipped"] == [] and summary["unannotated_positives"] == 1
    assert index.loc[index["annotated"] == 0, "image_id"].tolist() == [blank.image_id]
    assert (index.loc[index["image_id"] != blank.image_id, "annotated"] == 1).all()


def test_read_dataset_unannotated_option(tmp_path):
    write_rsna(tmp_path / "r", n_images=10, positive_rate=0.5, size=64, seed=1)
    with pytest.raises(InputError, match="datasets.<name>.unannotated: 'keep'"):
        read_dataset("rsna", tmp_path / "r", unannotated="keep")


def test_reader_vote_is_taken_at_the_original_size():
    """Two readers' boxes that do not overlap but fall within one output pixel of each other
    give no ground truth (the vote is at the original size, then resized); overlapping ones
    give their overlap, area-resized like a region."""
    from saliency_audit.convert import _mask_for
    from saliency_audit.formats.base import Box, Record

    def vote(boxes):
        rec = Record("x", Path("x.dicom"), 1, boxes=boxes, source="a.csv", box_votes=2)
        return _mask_for(rec, 2500, 2500, 224)

    mask, boxes = vote([Box(100, 100, 50, 400, 2, "R1"), Box(152, 100, 48, 400, 3, "R2")])
    assert not mask.any() and boxes == []
    mask, boxes = vote([Box(0, 0, 1250, 1250, 2, "R1"), Box(625, 625, 1250, 1250, 3, "R2")])
    full = np.zeros((2500, 2500), np.uint8)
    full[625:1250, 625:1250] = 1
    np.testing.assert_array_equal(mask, imageops.resize_mask(full, (224, 224)))
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert boxes == [(cols[0], rows[0], cols[-1], rows[-1])]
