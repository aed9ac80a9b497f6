"""VinDr-CXR: the synthetic look-alike read back and converted, the readers' vote, errors."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from conftest import tree_hashes
from pydicom.uid import ExplicitVRLittleEndian

from saliency_audit import imageops
from saliency_audit.convert import OUTPUTS, ConvertOptions, convert_dataset
from saliency_audit.errors import AnnotationError, InputError
from saliency_audit.formats import get_format, read_dataset
from saliency_audit.formats.vindr import FINDINGS
from saliency_audit.paths import TEMPLATES
from saliency_audit.synth import synthesize
from saliency_audit.synth.findings import findings_images
from saliency_audit.synth.vindr import _STREAM, image_ids, write_dx_dicom, write_vindr

SIZE = 128  # written
OUT = 64  # converted
PLAN = dict(n_images=16, positive_rate=0.5, size=SIZE, seed=4, shortcut_rate=0.5)
HEADER = "image_id,rad_id,class_name,x_min,y_min,x_max,y_max\n"
KIND = {"Pneumothorax": "pneumothorax", "Lung Opacity": "pneumonia", "Cardiomegaly": "cardiomegaly"}


def convert(records, folder, size=OUT):
    out = {k: Path(folder) / Path(TEMPLATES[k]).name for k in OUTPUTS}
    opts = ConvertOptions(size=size, salt="s", load_image=get_format("vindr").load_image)
    summary = convert_dataset(records, out, opts, name="vindr")
    index = pd.read_csv(out["index"], dtype={"image_id": str, "patient_hash": str})
    return summary, index, np.load(out["images"]), np.load(out["masks"])


def settings(root, **kw):
    return {"format": "vindr", "task": "detection", "root": str(root), **kw}


def iou(a, b):
    a, b = a.astype(bool), b.astype(bool)
    return (a & b).sum() / (a | b).sum()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A look-alike whose readers miss nothing, and its plan by image id."""
    root = tmp_path_factory.mktemp("vindr") / "vindr"
    summary = write_vindr(root, reader_miss_rate=0.0, **PLAN)
    _, images = findings_images(_STREAM, **PLAN)
    plan = dict(zip(image_ids(PLAN["seed"], PLAN["n_images"]), images, strict=True))
    return root, summary, plan


# --- the look-alike, read back and converted ----------------------------------------------


def test_layout_and_csvs(planted):
    root, summary, plan = planted
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*.csv")) == [
        "annotations/annotations_train.csv",
        "annotations/image_labels_train.csv",
    ]
    files = sorted((root / "train").iterdir())
    assert [f.suffix for f in files] == [".dicom"] * 16
    assert {f.stem for f in files} == set(plan) and all(
        re.fullmatch(r"[0-9a-f]{32}", i) for i in plan
    )
    text = (root / "annotations/annotations_train.csv").read_text()
    assert text.startswith(HEADER)
    lines = text.splitlines()[1:]
    keys = [(line.split(",")[0], int(line.split(",")[1][1:])) for line in lines]
    assert keys == sorted(keys)  # by image id, then reader number
    coord = r"\d+\.0"
    for line in lines:
        assert re.fullmatch(
            rf"[0-9a-f]{{32}},R\d+,(No finding,,,,|[A-Za-z ]+(,{coord}){{4}})", line
        )
    frame = pd.read_csv(root / "annotations/annotations_train.csv")
    readers = frame.groupby("image_id")["rad_id"].unique()
    assert all(len(r) == 3 and set(r) <= {f"R{k}" for k in range(1, 18)} for r in readers)
    assert len(frame) == summary["n_rows"] and frame["x_min"].notna().sum() == summary["n_boxes"]
    # every reader boxes every instance (no misses here); "No finding" only without findings
    for image_id, image in plan.items():
        rows = frame[frame.image_id == image_id]
        n_boxes = sum(len(image.boxes(k)) for k in image.kinds)
        assert len(rows) == 3 * max(n_boxes, 1)
        assert (rows.class_name == "No finding").all() == (not image.kinds)
    labels = pd.read_csv(root / "annotations/image_labels_train.csv")
    assert list(labels.columns[:2]) == ["image_id", "rad_ID"] and len(labels) == 48
    assert "Pulmonary fibrosis" in labels.columns and labels.columns[-1] == "No finding"
    assert summary["findings"] == {"Pneumothorax": 8, "Lung Opacity": 8, "Cardiomegaly": 8}
    assert summary["n_no_finding"] == sum(not i.kinds for i in plan.values()) >= 1


def test_dicom_is_12_bit_monochrome1_and_reads_as_the_phantom(planted, tmp_path):
    root, _, plan = planted
    image_id, image = next(iter(plan.items()))
    ds = pydicom.dcmread(root / "train" / f"{image_id}.dicom")
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.PhotometricInterpretation == "MONOCHROME1" and ds.Modality == "DX"
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
    assert ds.PatientID == "" and ds.file_meta.ImplementationClassUID.startswith("1.2.826.0.1.")
    raw = ds.pixel_array.astype(int)  # stored inverted: white (255) is 0, black is 4095
    assert (
        raw.max() <= 4095 and np.abs(raw - (4095 - image.phantom.image / 255 * 4095)).max() <= 0.5
    )
    # through the format's loader and the conversion, at the written size: the phantom back
    records = read_dataset("vindr", root, settings(root), settings(root))
    _, index, images, _ = convert(records, tmp_path, size=SIZE)
    row = index.index[index.image_id == image_id][0]
    assert (index.photometric == "MONOCHROME1").all() and (index.bits_stored == 12).all()
    assert np.abs(images[row].astype(int) - image.phantom.image).max() <= 1


@pytest.mark.parametrize("target", ["Pneumothorax", "Lung Opacity", "Cardiomegaly"])
def test_round_trip_labels_and_masks(planted, tmp_path, target, caplog):
    """Default target and two others: labels = the plan; images = the phantoms; masks = the
    planted instances' boxes, within the pixel each reader's corners are jittered by."""
    root, _, plan = planted
    config = settings(root) if target == "Pneumothorax" else settings(root, target=target)
    records = read_dataset("vindr", root, config, config)
    assert all(r.patient_id is None and r.box_votes == (2 if r.label else 1) for r in records)
    assert [r.image_id for r in records] == sorted(plan)
    with caplog.at_level(logging.WARNING):
        summary, index, images, masks = convert(records, tmp_path)
    assert "its own patient" in caplog.text and "split_csv" in caplog.text
    assert summary["patient_ids"] == {"none": len(records)}
    assert summary["skipped"] == [] and index.patient_hash.nunique() == 16
    kind = KIND[target]
    expected_labels = [int(kind in plan[i].kinds) for i in index.image_id]
    assert index.label.tolist() == expected_labels and sum(expected_labels) == 8
    for row in index.itertuples():
        image = plan[row.image_id]
        np.testing.assert_allclose(
            images[row.index],
            imageops.to_uint8(imageops.resize_area(image.phantom.image / 255.0, (OUT, OUT))),
            atol=1,
        )
        if not row.label:
            assert not masks[row.index].any()
            continue
        truth, inner, outer = (np.zeros((SIZE, SIZE), np.uint8) for _ in range(3))
        for x, y, w, h in image.boxes(kind):
            truth[y : y + h, x : x + w] = 1
            inner[y + 1 : y + h - 1, x + 1 : x + w - 1] = 1
            outer[max(y - 1, 0) : y + h + 1, max(x - 1, 0) : x + w + 1] = 1
        # every reader's box is the planted one, each side moved by at most a pixel: at
        # least the planted box shrunk by a pixel, at most every pixel its grown box touches
        mask = masks[row.index].astype(bool)
        assert (imageops.resize_mask(inner, (OUT, OUT)).astype(bool) <= mask).all()
        assert (mask <= (imageops.resize_area(outer, (OUT, OUT)) > 0)).all()
        assert iou(mask, imageops.resize_mask(truth, (OUT, OUT))) > 0.7


def test_negatives_normal_keeps_only_images_without_findings(planted):
    root, _, plan = planted
    config = settings(root, negatives="normal")
    records = read_dataset("vindr", root, config, config)
    negatives = {r.image_id for r in records if not r.label}
    assert negatives == {i for i, image in plan.items() if not image.kinds} != set()
    assert {r.image_id for r in records if r.label} == {
        i for i, image in plan.items() if "pneumothorax" in image.kinds
    }


def test_reader_misses(tmp_path):
    """Misses happen at about the rate asked, are counted, and never invent a finding; with
    every finding missed every reader writes No finding."""
    root = tmp_path / "v"
    summary = write_vindr(root, reader_miss_rate=0.5, **PLAN)
    _, images = findings_images(_STREAM, **PLAN)
    plan = dict(zip(image_ids(PLAN["seed"], PLAN["n_images"]), images, strict=True))
    frame = pd.read_csv(root / "annotations/annotations_train.csv")
    seen = set(zip(frame.image_id, frame.rad_id, frame.class_name, strict=True))
    pairs = missed = 0
    for image_id, image in plan.items():
        for rad in frame.loc[frame.image_id == image_id, "rad_id"].unique():
            for kind in image.kinds:
                pairs += 1
                missed += (image_id, rad, {v: k for k, v in KIND.items()}[kind]) not in seen
    assert missed == summary["n_missed"] and 0.35 < missed / pairs < 0.65
    # readers who boxed a pneumothorax, per planted image: 0 to 3 of its 3
    saw = {
        i: frame[(frame.image_id == i) & (frame.class_name == "Pneumothorax")].rad_id.nunique()
        for i, image in plan.items()
        if "pneumothorax" in image.kinds
    }
    assert {1, 2} <= set(saw.values())  # the vote matters here
    union = {
        r.image_id for r in read_dataset("vindr", root, options={"readers": "union"}) if r.label
    }
    majority = {r.image_id for r in read_dataset("vindr", root) if r.label}
    assert union == {i for i, n in saw.items() if n >= 1}
    assert majority == {i for i, n in saw.items() if n >= 2} < union
    write_vindr(root, reader_miss_rate=1.0, **PLAN)
    frame = pd.read_csv(root / "annotations/annotations_train.csv")
    assert (frame.class_name == "No finding").all() and len(frame) == 48


# --- the readers' vote on a hand-written CSV -----------------------------------------------

A, B, C, D = "a" * 32, "b" * 32, "c" * 32, "d" * 32
VOTES = HEADER + (
    # A: R1 and R2 overlap on [20, 30) x [20, 30); R3 boxes elsewhere
    f"{A},R1,Pneumothorax,10.0,10.0,30.0,30.0\n"
    f"{A},R2,Pneumothorax,20.0,20.0,40.0,40.0\n"
    f"{A},R3,Pneumothorax,45.0,45.0,60.0,60.0\n"
    # B: one reader of three sees a pneumothorax, one sees nothing, one an enlarged heart
    f"{B},R1,Pneumothorax,5.0,40.0,15.0,60.0\n"
    f"{B},R1,Pneumothorax,40.0,5.0,60.0,15.0\n"
    f"{B},R2,No finding,,,,\n"
    f"{B},R3,Cardiomegaly,20.0,30.0,44.0,50.0\n"
    # C: three other readers, all normal
    f"{C},R4,No finding,,,,\n"
    f"{C},R5,No finding,,,,\n"
    f"{C},R6,No finding,,,,\n"
    # D: a majority sees an enlarged heart, nobody a pneumothorax
    f"{D},R1,Cardiomegaly,20.0,30.0,44.0,50.0\n"
    f"{D},R2,Cardiomegaly,22.0,32.0,46.0,52.0\n"
    f"{D},R3,No finding,,,,\n"
)


def square(*boxes):
    """Inclusive-exclusive corners -> a 64 x 64 mask (converted at the written size)."""
    out = np.zeros((64, 64), np.uint8)
    for x0, y0, x1, y1 in boxes:
        out[y0:y1, x0:x1] = 1
    return out


def vindr_layout(root: Path, csv_text: str, ids=(A, B, C, D), suffix=".dicom") -> Path:
    (root / "train").mkdir(parents=True)
    (root / "annotations").mkdir()
    gradient = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    for k, image_id in enumerate(ids):
        uid = f"1.2.3.{k}"
        write_dx_dicom(
            root / "train" / f"{image_id}{suffix}",
            gradient,
            study_uid=uid,
            series_uid=uid,
            sop_uid=uid,
            sex="F",
            age="050Y",
        )
    (root / "annotations" / "annotations_train.csv").write_text(csv_text)
    return root


@pytest.fixture(scope="module")
def votes_root(tmp_path_factory):
    return vindr_layout(tmp_path_factory.mktemp("votes") / "v", VOTES)


@pytest.mark.parametrize(
    "readers, negatives, labels",
    [
        ("majority", "absent", {A: 1, B: 0, C: 0, D: 0}),
        ("majority", "normal", {A: 1, C: 0}),
        ("union", "absent", {A: 1, B: 1, C: 0, D: 0}),
        ("union", "normal", {A: 1, B: 1, C: 0}),
        ("R1", "absent", {A: 1, B: 1, D: 0}),
        ("R2", "normal", {A: 1, B: 0}),
        ("R3", "absent", {A: 1, B: 0, D: 0}),
    ],
)
def test_readers_vote_labels(votes_root, readers, negatives, labels, caplog):
    with caplog.at_level(logging.INFO):
        records = read_dataset(
            "vindr", votes_root, options={"negatives": negatives, "options": {"readers": readers}}
        )
    assert {r.image_id: r.label for r in records} == labels
    if readers.startswith("R"):  # each of R1..R3 read A, B and D, not C
        assert f"3 of 4 images read by {readers} kept, 1 not read by {readers} left out" in (
            caplog.text
        )


@pytest.mark.parametrize(
    "readers, expected_a, expected_b",
    [
        ("majority", square((20, 20, 30, 30)), None),
        (
            "union",
            square((10, 10, 30, 30), (20, 20, 40, 40), (45, 45, 60, 60)),
            square((5, 40, 15, 60), (40, 5, 60, 15)),
        ),
        ("R3", square((45, 45, 60, 60)), None),
    ],
)
def test_readers_vote_masks(votes_root, tmp_path, readers, expected_a, expected_b):
    """Majority: the pixels of at least 2 of 3 readers (the overlap of R1 and R2, not R3's
    box); union: every box; one reader: its boxes."""
    records = read_dataset("vindr", votes_root, options={"readers": readers})
    a = next(r for r in records if r.image_id == A)
    assert {b.reader for b in a.boxes} == ({"R3"} if readers == "R3" else {"R1", "R2", "R3"})
    assert [b.line for b in a.boxes] == ([4] if readers == "R3" else [2, 3, 4])
    assert a.box_votes == (2 if readers == "majority" else 1)
    _, index, images, masks = convert(records, tmp_path, size=64)
    by_id = dict(zip(index.image_id, index["index"], strict=True))
    np.testing.assert_array_equal(masks[by_id[A]], expected_a)
    if expected_b is not None:
        np.testing.assert_array_equal(masks[by_id[B]], expected_b)
    gradient = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    assert np.abs(images[by_id[A]].astype(int) - gradient).max() <= 1  # MONOCHROME1 undone
    boxes = pd.read_csv(tmp_path / "boxes.csv", dtype={"image_id": str})
    if readers == "majority":
        assert boxes[["image_id", "x0", "y0", "x1", "y1"]].values.tolist() == [[A, 20, 20, 29, 29]]


def test_majority_for_another_target_and_options_paths(votes_root, caplog):
    config = settings(votes_root, target="Cardiomegaly", options={"readers": "majority"})
    with caplog.at_level(logging.INFO):
        records = read_dataset("vindr", votes_root, config, config)
    assert {r.image_id: r.label for r in records} == {A: 0, B: 0, C: 0, D: 1}
    d = next(r for r in records if r.image_id == D)
    assert [(b.x, b.y, b.width, b.height, b.reader) for b in d.boxes] == [
        (20.0, 30.0, 24.0, 20.0, "R1"),
        (22.0, 32.0, 24.0, 20.0, "R2"),
    ]
    assert "1 positives, 3 negatives, 1 negatives boxed by a minority" in caplog.text


# --- errors ----------------------------------------------------------------------------------

GOOD = f"{C},R4,No finding,,,,\n"  # row 2: the bad row below is row 3


@pytest.mark.parametrize(
    "row, message",
    [
        (f"{A},R1,Pneumothorax,30.0,10.0,30.0,20.0", r"row 3: box corners not increasing"),
        (f"{A},R1,Pneumothorax,10.0,20.0,30.0,20.0", r"row 3: box corners not increasing"),
        (f"{A},R1,Pneumothorax,,,,", r"row 3: a 'Pneumothorax' box without coordinates"),
        (f"{A},R1,Nodule/Mass,1.0,2.0,,4.0", r"row 3: .*without coordinates \(x_max empty\)"),
        (f"{A},R1,No finding,1.0,1.0,5.0,5.0", r"row 3: a 'No finding' row has coordinates"),
        (f"{A},R1,Pneumonia,1.0,1.0,5.0,5.0", r"row 3: unknown class_name 'Pneumonia' \(known: "),
        (f"{A},R1,Pneumothorax,-1.0,1.0,5.0,5.0", r"row 3: negative coordinates"),
        (f"{A},R1,Pneumothorax,abc,1.0,5.0,5.0", r"row 3: x_min='abc' is not a number"),
        (f"{A},,Pneumothorax,1.0,1.0,5.0,5.0", r"row 3: image '" + A + "': empty rad_id"),
        (f"{C},R4,Atelectasis,1.0,1.0,5.0,5.0", r"row 3: reader R4 gives .* row 2 marks it"),
        (f"{C},R5,Atelectasis,1.0,1.0,5.0,5.0\n{C},R5,No finding,,,,", r"row 4: .*row 3 gives"),
    ],
)
def test_bad_rows_are_named(tmp_path, row, message):
    root = vindr_layout(tmp_path / "v", HEADER + GOOD + row + "\n")
    with pytest.raises(AnnotationError, match=message) as info:
        read_dataset("vindr", root)
    assert "annotations_train.csv" in str(info.value)
    if "unknown class_name" in message:
        assert "'Pneumothorax'" in str(info.value) and "'No finding'" in str(info.value)


def test_other_errors_name_the_key(votes_root, tmp_path):
    with pytest.raises(
        InputError, match=r"options.readers\): 'R9' .* \(ids seen: R1, R2, R3, R4, R5, R6\)"
    ):
        read_dataset("vindr", votes_root, options={"readers": "R9"})
    with pytest.raises(
        InputError, match=r"datasets.<name>.target: 'pneumothorax' .*did you mean 'Pneumothorax'"
    ):
        read_dataset("vindr", votes_root, options={"target": "pneumothorax"})
    with pytest.raises(InputError, match="option negatives: 'none'"):
        read_dataset("vindr", votes_root, options={"negatives": "none"})
    root = vindr_layout(tmp_path / "h", "image_id,rad_ID,class_name,x_min,y_min,x_max,y_max\n")
    with pytest.raises(InputError, match="does not match the expected"):
        read_dataset("vindr", root)


def test_dicom_extension_only(tmp_path):
    """Images are found as <id>.dicom; a .dcm file is not one, and names the row."""
    root = vindr_layout(tmp_path / "v", VOTES, ids=(A, B, C), suffix=".dicom")
    write_dx_dicom(
        root / "train" / f"{D}.dcm",
        np.zeros((64, 64), np.uint8),
        study_uid="1.9",
        series_uid="1.9",
        sop_uid="1.9",
        sex="M",
        age="040Y",
    )
    with pytest.raises(InputError, match=rf"row 12: image '{D}' has no DICOM file"):
        read_dataset("vindr", root)
    records = read_dataset("vindr", root, options={"missing_images": "skip"})
    assert [r.image_id for r in records] == [A, B, C]
    assert all(r.path.suffix == ".dicom" for r in records)


# --- the writer ------------------------------------------------------------------------------


def test_same_seed_same_bytes(tmp_path):
    params = dict(n_images=6, positive_rate=0.5, size=64, shortcut_rate=0.5)
    synthesize("vindr", tmp_path / "a", params, seed=7)
    synthesize("vindr", tmp_path / "b", params, seed=7)
    synthesize("vindr", tmp_path / "c", params, seed=8)
    a, b, c = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b"), tree_hashes(tmp_path / "c")
    assert a == b and len(a) == 6 + 2
    assert set(a) != set(c) and set(a.values()).isdisjoint(c.values())


def test_writer_parameters(tmp_path):
    summary = synthesize(
        "vindr",
        tmp_path / "one",
        {
            "n_images": 4,
            "positive_rate": 0.5,
            "size": 64,
            "n_readers": 1,
            "findings": ["pneumonia"],
        },
        seed=0,
    )
    assert summary["findings"] == {"Lung Opacity": 2} and summary["n_readers"] == 1
    frame = pd.read_csv(tmp_path / "one/annotations/annotations_train.csv")
    assert frame.groupby("image_id").rad_id.nunique().tolist() == [1] * 4
    assert set(frame.class_name) == {"Lung Opacity", "No finding"}
    for bad, match in [
        ({"n_readers": 18}, "n_readers=18"),
        ({"n_readers": 0}, "n_readers=0"),
        ({"reader_miss_rate": 1.5}, "reader_miss_rate=1.5"),
        ({"multi_image_patient_rate": 0.1}, "'multi_image_patient_rate'"),
        ({"findings": ["fracture"]}, "findings="),
    ]:
        with pytest.raises(InputError, match=match):
            synthesize("vindr", tmp_path / "bad", {"n_images": 4, "positive_rate": 0.5, **bad}, 0)
    assert not (tmp_path / "bad").exists()
    fmt = get_format("vindr")
    assert fmt.targets == FINDINGS and len(FINDINGS) == 22 and fmt.task == "detection"
