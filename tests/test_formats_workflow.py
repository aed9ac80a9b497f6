"""The whole workflow on the CheXlocalize, NIH, VinDr and folder look-alikes (configs/formats.yaml).

One run of the tiny config (four datasets, each audited for another finding) from the
synthetic files in each format's real layout to the scorecards; the tests check that each
dataset's labels are the ones its own label files give for its target, that the ground truth
reached the stacks, and that patient ids reached the split.
"""

import csv
import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

DATASETS = ("chexlocalize", "nih", "vindr", "folder")


@pytest.fixture(scope="module")
def formats_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("formats")
    run_snakemake(workdir, configfile="configs/formats.yaml", timeout=1800)
    return workdir / "results"


def load(results, ds):
    base = results / ds / "images"
    index = pd.read_csv(base / "index.csv", dtype={"image_id": str})
    masks = np.load(base / "masks.npy", mmap_mode="r")
    return index, masks


def synthetic(results, ds):
    return results / "synthetic" / ds


def test_every_dataset_reaches_its_scorecard(formats_run):
    summary = (formats_run / "report/summary.md").read_text()
    for ds in DATASETS:
        assert f"## {ds}" in summary or f"# {ds}" in summary, ds
        for table in ("table1.md", "table3.md", "verdicts.csv"):
            assert (formats_run / ds / "stats" / table).is_file(), (ds, table)
        index, masks = load(formats_run, ds)
        has_mask = masks.reshape(len(masks), -1).max(axis=1) > 0
        truth = (index["label"] == 1) & (index["annotated"] == 1)  # nih keeps unboxed ones
        assert np.array_equal(has_mask, truth.to_numpy()), ds
        assert 0 < index["label"].sum() < len(index)


def test_chexlocalize_labels_follow_the_csv(formats_run):
    """Target "Lung Opacity" (the CSV's name; the JSON calls it Airspace Opacity): the
    positives are the frontal images the CSV marks 1.0; lateral views are left out."""
    index, _ = load(formats_run, "chexlocalize")
    root = synthetic(formats_run, "chexlocalize")
    rows = list(csv.DictReader(open(root / "CheXpert/val_labels.csv")))
    frontal = {
        "_".join(r["Path"].split("/")[-3:]).removesuffix(".jpg"): float(r["Lung Opacity"])
        for r in rows
        if r["Frontal/Lateral"] == "Frontal"
    }
    assert len(frontal) < len(rows)  # the look-alike has lateral views
    labels = dict(zip(index["image_id"], index["label"], strict=True))
    assert labels == {k: int(v) for k, v in frontal.items()}
    segmentations = json.loads((root / "CheXlocalize/gt_segmentations_val.json").read_text())
    assert all("Airspace Opacity" in v for v in segmentations.values())


def test_chexlocalize_protocol_against_the_human_benchmark(formats_run):
    """The look-alike's human benchmark (each mask grown by a few pixels) is read from its
    cheXlocalize JSON, scores a high mIoU and is every saliency method's comparison; the
    predicted segmentations come back through the same layout."""
    import pandas as pd

    from saliency_audit.localize.interop import read_segmentations

    folder = formats_run / "chexlocalize" / "localize"
    summary = pd.read_csv(folder / "summary.csv")
    human = summary[(summary["model"] == "HUMAN") & (summary["metric"] == "miou")]
    assert 0.5 < human["mean"].min() < 1.0  # grown outlines: close to, not equal to, the truth
    comparisons = pd.read_csv(folder / "comparisons.csv")
    assert "HUMAN" in set(comparisons["benchmark"])
    section = (formats_run / "report/summary.md").read_text()
    assert "| HUMAN | HUMAN | readers' segmentations |" in section
    ids, gt = read_segmentations(folder / "segmentations/ground_truth.json", "Lung Opacity")
    _, pred = read_segmentations(folder / "segmentations/tiny_r1/GCAM.json", "Lung Opacity", ids)
    assert gt.shape == pred.shape and gt.any()


def test_nih_labels_and_patients(formats_run):
    """Target Cardiomegaly from the pipe-separated Finding Labels; follow-ups of one Patient
    ID share a patient hash, so they land in one split. Positives without a box (box_rate
    0.75) are kept for training (unannotated: train) and never reach the test split."""
    index, _ = load(formats_run, "nih")
    root = synthetic(formats_run, "nih")
    with open(root / "Data_Entry_2017.csv") as fh:
        rows = list(csv.reader(fh))[1:]
    expected = {r[0].removesuffix(".png"): int("Cardiomegaly" in r[1].split("|")) for r in rows}
    assert dict(zip(index["image_id"], index["label"], strict=True)) == expected
    patients = {r[0].removesuffix(".png"): r[3] for r in rows}
    index["patient"] = index["image_id"].map(patients)
    assert index.groupby("patient")["patient_hash"].nunique().max() == 1
    assert index["patient"].nunique() < len(index)  # the look-alike has follow-ups
    split = pd.read_csv(formats_run / "nih/splits/split.csv", dtype=str)
    index["split"] = index["image_id"].map(
        dict(zip(split["Image_ID"], split["Split"], strict=True))
    )
    assert index.groupby("patient")["split"].nunique().max() == 1
    boxes = pd.read_csv(formats_run / "nih/images/boxes.csv")
    positives = index[index["label"] == 1]
    boxed = set(boxes["image_id"].astype(str))
    assert boxed == set(positives.loc[positives["annotated"] == 1, "image_id"])
    unboxed = positives[positives["annotated"] == 0]
    assert 0 < len(unboxed) < len(positives)
    assert set(unboxed["split"]) <= {"train", "val"} and "train" in set(unboxed["split"])
    maps = pd.read_csv(formats_run / "nih/splits/positives.csv", dtype={"image_id": str})
    assert set(maps["image_id"]) <= boxed


def test_vindr_majority_of_readers(formats_run):
    """Positive where more than half of an image's readers boxed a pneumothorax (the
    default readers: majority), counted here from the annotation CSV itself."""
    index, _ = load(formats_run, "vindr")
    table = pd.read_csv(synthetic(formats_run, "vindr") / "annotations/annotations_train.csv")
    readers = table.groupby("image_id")["rad_id"].nunique()
    marked = table[table["class_name"] == "Pneumothorax"].groupby("image_id")["rad_id"].nunique()
    votes = marked.reindex(readers.index, fill_value=0)
    expected = {i for i in readers.index if votes[i] > readers[i] / 2}
    assert set(index.loc[index["label"] == 1, "image_id"]) <= expected
    assert len(expected - set(index["image_id"])) <= 1  # a vote may leave no pixel (skipped)
    assert (votes[(votes > 0) & (votes <= readers / 2)] > 0).any()  # some minority-only images


def test_folder_negatives_are_normal(formats_run):
    """negatives: normal: images with only the other finding (Cardiomegaly) are left out."""
    index, _ = load(formats_run, "folder")
    labels = pd.read_csv(synthetic(formats_run, "folder") / "labels.csv", dtype=str)
    ptx, cardio = labels["Pneumothorax"] == "1", labels["Cardiomegaly"] == "1"
    ids = labels["image"].str.rsplit(".", n=1).str[0]
    assert set(index.loc[index["label"] == 1, "image_id"]) == set(ids[ptx])
    assert set(index.loc[index["label"] == 0, "image_id"]) == set(ids[~ptx & ~cardio])
