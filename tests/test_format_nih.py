"""The NIH ChestX-ray14 format: its synthetic look-alike read back and converted, the real
files' quirks (headers with commas and trailing fields, Infiltrate/Infiltration, RGBA PNGs,
twelve image folders), and errors that name their row."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tree_hashes
from PIL import Image

from saliency_audit import imageops, raster
from saliency_audit.convert import OUTPUTS, ConvertOptions, convert_dataset
from saliency_audit.errors import AnnotationError, InputError
from saliency_audit.formats import get_format, read_dataset
from saliency_audit.formats.nih import read_nih
from saliency_audit.paths import TEMPLATES
from saliency_audit.synth import nih as synth_nih
from saliency_audit.synth import synthesize
from saliency_audit.synth.findings import findings_images

SIZE = 64
PLAN = dict(n_images=12, positive_rate=0.5, size=SIZE, seed=7)
EXTRA = dict(rgba_rate=0.25, multi_image_patient_rate=0.5)
NAMES = {
    "pneumothorax": "Pneumothorax",
    "pneumonia": "Infiltration",
    "cardiomegaly": "Cardiomegaly",
}
ENTRY_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
    "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],"
)
BOX_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"


def planned(**plan):
    """The writer's plan, drawn again: the planted images in index order."""
    _, images = findings_images(synth_nih._STREAM, **plan)
    return list(images)


def tight_boxes(mask):
    """``(x, y, w, h)`` of a 0/1 instance mask, computed here from its pixels."""
    rows, cols = np.nonzero(mask)
    return cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1


def gray(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


@pytest.fixture(scope="module")
def nih(tmp_path_factory):
    """The look-alike, its summary, and image id -> planted image (matched by pixels)."""
    root = tmp_path_factory.mktemp("nih") / "data"
    summary = synth_nih.write_nih(root, **EXTRA, **PLAN)
    by_pixels = {img.phantom.image.tobytes(): img for img in planned(**PLAN)}
    assert len(by_pixels) == PLAN["n_images"]
    plan = {p.stem: by_pixels[gray(p).tobytes()] for p in root.rglob("*.png")}
    assert len(plan) == PLAN["n_images"]
    return root, summary, plan


def convert(records, folder, size=SIZE):
    out = {k: Path(folder) / Path(TEMPLATES[k]).name for k in OUTPUTS}
    opts = ConvertOptions(size=size, salt="s", load_image=get_format("nih").load_image)
    convert_dataset(records, out, opts, name="nih")
    index = pd.read_csv(out["index"], dtype={"image_id": str, "patient_hash": str})
    return np.load(out["images"]), np.load(out["masks"]), index


def expected_mask(img, kind, size=SIZE):
    """The planted instances' boxes filled at ``size`` (scaled as the conversion does)."""
    out = np.zeros((size, size), np.uint8)
    for mask in img.instances(kind):
        x0, y0, x1, y1 = imageops.scale_box(*tight_boxes(mask), mask.shape, size)
        out[y0 : y1 + 1, x0 : x1 + 1] = 1
    return out


# --- round trip ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, settings",
    [
        ("pneumothorax", {}),  # the default target
        ("cardiomegaly", {"target": "Cardiomegaly"}),
        ("pneumonia", {"options": {"target": "Infiltration"}}),
    ],
)
def test_round_trip_labels_and_masks_match_the_plan(nih, tmp_path, kind, settings):
    root, summary, plan = nih
    records = read_dataset("nih", root, settings, settings)
    assert [r.image_id for r in records] == sorted(plan)  # box_rate 1: every positive kept
    assert [r.label for r in records] == [int(kind in plan[r.image_id].kinds) for r in records]
    assert sum(r.label for r in records) == summary["findings"][NAMES[kind]] == 6
    images, masks, index = convert(records, tmp_path / "full")
    assert list(index["image_id"]) == [r.image_id for r in records]
    for row in index.itertuples():
        img = plan[row.image_id]
        np.testing.assert_array_equal(images[row.index], img.phantom.image)
        np.testing.assert_array_equal(masks[row.index], expected_mask(img, kind))
        for instance in img.instances(kind):  # every planted pixel is inside its box
            assert (masks[row.index][instance > 0] == 1).all()
        assert row.n_regions == len(img.instances(kind))
    assert masks[index["label"] == 0].sum() == 0
    # at a smaller size the sub-pixel offsets must not widen the scaled boxes
    _, small, index = convert(records, tmp_path / "small", size=SIZE // 2)
    for row in index.itertuples():
        expected = expected_mask(plan[row.image_id], kind, SIZE // 2)
        np.testing.assert_array_equal(small[row.index], expected)


def test_patient_ids_reach_the_patient_hash(nih, tmp_path):
    root, summary, _ = nih
    entries = pd.read_csv(root / "Data_Entry_2017.csv", usecols=range(7), dtype=str)
    patient = dict(zip(entries["Image Index"].str[:-4], entries["Patient ID"], strict=True))
    _, _, index = convert(read_dataset("nih", root), tmp_path)
    hashes = index.groupby(index["image_id"].map(patient))["patient_hash"].agg(set)
    assert all(len(h) == 1 for h in hashes)  # one hash per patient ...
    assert len({next(iter(h)) for h in hashes}) == len(hashes) == summary["n_patients"]  # ... each
    follow_ups = entries.groupby("Patient ID")["Follow-up #"].agg(sorted)
    assert (follow_ups.map(len) == 2).sum() == PLAN["n_images"] - summary["n_patients"] > 0
    assert all(f == [str(k) for k in range(len(f))] for f in follow_ups)
    assert all(
        i == f"{int(p):08d}_{int(f):03d}.png"
        for i, p, f in entries[["Image Index", "Patient ID", "Follow-up #"]].itertuples(index=False)
    )


# --- quirks ----------------------------------------------------------------------------


def test_rgba_pngs_are_read_as_the_same_gray(nih):
    root, summary, plan = nih
    modes = {}
    for path in sorted(root.rglob("*.png")):
        with Image.open(path) as im:
            modes[path.stem] = im.mode
        pixels = raster.read_image(path).pixels
        assert np.abs(pixels - plan[path.stem].phantom.image / 255.0).max() <= 1 / 255 + 1e-6
    rgba = [k for k, m in modes.items() if m == "RGBA"]
    assert len(rgba) == summary["n_rgba"] == 3  # 12 x 0.25, exactly
    assert set(modes.values()) == {"L", "RGBA"}
    with Image.open(next(root.rglob(f"{rgba[0]}.png"))) as im:
        r, g, b, a = (np.asarray(c) for c in im.split())
    assert (r == g).all() and (g == b).all() and (a == 255).all()


def test_look_alike_keeps_the_real_headers_and_folders(nih):
    root, summary, _ = nih
    entry_lines = (root / "Data_Entry_2017.csv").read_text().splitlines()
    box_lines = (root / "BBox_List_2017.csv").read_text().splitlines()
    assert entry_lines[0] == ENTRY_HEADER and box_lines[0] == BOX_HEADER
    assert all(line.endswith(",") and line.count(",") == 11 for line in entry_lines)
    assert all(line.endswith(",,,") and line.count(",") == 8 for line in box_lines)
    assert entry_lines[1:] == sorted(entry_lines[1:])
    folders = sorted(str(p.parent.relative_to(root)) for p in root.rglob("*.png"))
    assert folders == [f"images_00{k}/images" for k in (1, 2, 3) for _ in range(4)]
    records = read_dataset("nih", root)
    assert [str(r.path.parent.relative_to(root)) for r in records] == folders  # sorted by id
    assert summary["n_folders"] == 3


def test_infiltrate_in_the_box_list_is_infiltration(nih):
    root, _, plan = nih
    boxes = pd.read_csv(root / "BBox_List_2017.csv", usecols=range(6))
    assert "Infiltrate" in set(boxes["Finding Label"])
    assert "Infiltration" not in set(boxes["Finding Label"])
    infiltrate_rows = {k + 2 for k in np.flatnonzero(boxes["Finding Label"] == "Infiltrate")}
    for target in ("Infiltration", "Infiltrate"):
        records = read_dataset("nih", root, options={"target": target})
        assert {b.line for r in records for b in r.boxes} == infiltrate_rows
        assert {r.image_id for r in records if r.label} == {
            k for k, img in plan.items() if "pneumonia" in img.kinds
        }


def hand_layout(tmp_path, entries, boxes="", ids=None):
    """A hand-written layout with empty PNG placeholders (the reader never opens them)."""
    ids = ids or ["00000001_000", "00000001_001", "00000002_000", "00013118_008"]
    for k, image_id in enumerate(ids):
        folder = tmp_path / f"images_{k % 2 + 1:03d}" / "images"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{image_id}.png").touch()
    (tmp_path / "Data_Entry_2017.csv").write_text(entries)
    (tmp_path / "BBox_List_2017.csv").write_text(BOX_HEADER + "\n" + boxes)
    return tmp_path


ENTRIES = ENTRY_HEADER + (
    "\n00000001_000.png,Cardiomegaly|Effusion,0,1,058Y,M,PA,2682,2749,0.143,0.143,"
    "\n00000001_001.png,No Finding,1,1,058Y,M,PA,2500,2048,0.168,0.168,"
    "\n00000002_000.png,Infiltration|Pneumothorax,0,2,081Y,F,AP,3056,2544,0.139,0.139,"
    "\n00013118_008.png,Atelectasis|Infiltration,8,13118,042Y,F,PA,2992,2991,0.143,0.143,\n"
)
BOXES = (
    "00013118_008.png,Atelectasis,225.084745762712,547.019216763771,86.7796610169491,"
    "79.1864406779661,,,\n"
    "00000002_000.png,Infiltrate,100.5,200.25,50,60,,,\n"
    "00000002_000.png,Pneumothorax,600,300,120.5,240,,,\n"
)


def test_real_rows_are_read(tmp_path):
    root = hand_layout(tmp_path, ENTRIES, BOXES)
    records = read_dataset("nih", root, options={"target": "Atelectasis"})
    assert [(r.image_id, r.label, r.patient_id) for r in records] == [
        ("00000001_000", 0, "1"),
        ("00000001_001", 0, "1"),
        ("00000002_000", 0, "2"),
        ("00013118_008", 1, "13118"),
    ]
    (box,) = records[3].boxes
    assert (box.x, box.y, box.width, box.height, box.line) == (
        225.084745762712,
        547.019216763771,
        86.7796610169491,
        79.1864406779661,
        2,
    )
    assert records[3].path == root / "images_002" / "images" / "00013118_008.png"
    assert records[3].source.endswith("BBox_List_2017.csv")
    pneumothorax = read_dataset("nih", root)
    assert [r.label for r in pneumothorax] == [0, 0, 1, 0]
    assert [(b.x, b.y, b.width, b.height, b.line) for b in pneumothorax[2].boxes] == [
        (600.0, 300.0, 120.5, 240.0, 4)
    ]


def test_data_entry_read_by_name_however_many_trailing_fields(tmp_path):
    """Only the first seven columns count: no trailing comma, or extra fields, read alike."""
    lines = ENTRIES.splitlines()
    variants = [
        "\n".join(line.rstrip(",") for line in lines) + "\n",  # no trailing commas
        "\n".join(line + ",x,y" for line in lines) + "\n",  # more fields than the header
        "\n".join(",".join(line.split(",")[:7]) for line in lines[1:]),  # rows of 7 only
    ]
    variants[2] = lines[0] + "\n" + variants[2] + "\n"
    want = [
        (r.image_id, r.label) for r in read_dataset("nih", hand_layout(tmp_path, ENTRIES, BOXES))
    ]
    for text in variants:
        (tmp_path / "Data_Entry_2017.csv").write_text(text)
        assert [(r.image_id, r.label) for r in read_dataset("nih", tmp_path)] == want


def test_negatives_normal_keeps_only_images_without_a_finding(nih, caplog):
    root, _, plan = nih
    with caplog.at_level(logging.INFO):
        records = read_dataset("nih", root, {"negatives": "normal"}, {"negatives": "normal"})
    normal = {k for k, img in plan.items() if not img.kinds}
    positive = {k for k, img in plan.items() if "pneumothorax" in img.kinds}
    assert normal and positive
    assert {r.image_id for r in records if r.label == 0} == normal
    assert {r.image_id for r in records if r.label == 1} == positive
    left = len(plan) - len(normal) - len(positive)
    assert f"{left} left out (another finding, negatives: normal)" in caplog.text
    nested = read_dataset("nih", root, options={"options": {"negatives": "normal"}})
    assert [r.image_id for r in nested] == [r.image_id for r in records]


def test_box_rate_below_one_drops_unannotated_positives(tmp_path, caplog):
    root = tmp_path / "data"
    summary = synth_nih.write_nih(root, box_rate=0.5, **PLAN)
    boxes = pd.read_csv(root / "BBox_List_2017.csv", usecols=range(6))
    boxed = set(boxes.loc[boxes["Finding Label"] == "Pneumothorax", "Image Index"].str[:-4])
    assert len(boxed) == summary["boxed"]["Pneumothorax"]
    assert 0 < len(boxed) < summary["findings"]["Pneumothorax"] == 6
    with caplog.at_level(logging.INFO):
        records = read_dataset("nih", root)
    assert {r.image_id for r in records if r.label} == boxed
    assert all(r.boxes for r in records if r.label)
    assert len(records) == PLAN["n_images"] - (6 - len(boxed))
    dropped = 6 - len(boxed)
    assert f"{dropped} of 6 positive images have no ground-truth region or box" in caplog.text
    assert f"{len(boxed)} of 6 Pneumothorax positives have a box" in caplog.text


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries, boxes, message",
    [
        (
            ENTRY_HEADER.replace("Patient ID", "PatientID") + "\n",
            "",
            r"Data_Entry_2017\.csv: header .* does not start with the expected columns",
        ),
        (
            ENTRIES,
            "00000009_000.png,Mass,1,2,3,4,,,\n",
            r"BBox_List_2017\.csv, row 2: image "
            r"'00000009_000\.png' is not in Data_Entry_2017\.csv",
        ),
        (
            ENTRIES,
            BOXES + "00000001_000.png,Pneumothorax,1,2,3,4,,,\n",
            r"BBox_List_2017\.csv, row 5: .*Data_Entry_2017\.csv row 2 does not label with "
            r"'Pneumothorax' .*conflicting labels",
        ),
        (ENTRIES, "00000001_000.png,Effusion,1,2,wide,4,,,\n", r"row 2: w='wide' is not a number"),
        (ENTRIES, "00000001_000.png,Effusion,1,2,0,4,,,\n", r"row 2: box size 0\.0 x 4\.0 is not"),
        (ENTRIES, "00000001_000.png,Effusion,1,2,3,-4,,,\n", r"row 2: box size .* not positive"),
        (
            ENTRIES,
            "00000001_000.png,Efusion,1,2,3,4,,,\n",
            r"row 2: unknown Finding Label "
            r"'Efusion'; known: .*'Effusion'",
        ),
        (
            ENTRIES.replace("No Finding,1,1", ",1,1"),
            "",
            r"Data_Entry_2017\.csv, row 3: empty Finding Labels",
        ),
        (
            ENTRIES.replace("Atelectasis|Infiltration", "Atelectasis|Lung Opacity"),
            "",
            r"Data_Entry_2017\.csv, row 5: unknown finding\(s\) 'Lung Opacity' .*known: "
            r"'Atelectasis', .*'Hernia', 'No Finding'",
        ),
        (
            ENTRIES + "00000003_000.png,Mass,0,3,050Y,F,PA,2048,2048,0.143,0.143,\n",
            "",
            r"Data_Entry_2017\.csv, row 6: image '00000003_000' has no PNG file",
        ),
    ],
)
def test_errors_name_the_row(tmp_path, entries, boxes, message):
    root = hand_layout(tmp_path, entries, boxes)
    with pytest.raises(InputError, match=message) as info:
        read_dataset("nih", root)
    if "row" in message and "PNG" not in message:
        assert isinstance(info.value, AnnotationError)


def test_unknown_target_names_the_config_key(tmp_path):
    root = hand_layout(tmp_path, ENTRIES)
    with pytest.raises(
        InputError,
        match=r"datasets\.<name>\.target: 'pneumothorax' .*"
        r"did you mean 'Pneumothorax'",
    ):
        read_dataset("nih", root, options={"target": "pneumothorax"})
    with pytest.raises(InputError, match="option negatives: 'some'"):
        read_nih(root, root / "Data_Entry_2017.csv", root / "BBox_List_2017.csv", negatives="some")


# --- determinism -----------------------------------------------------------------------


def test_synthesize_twice_gives_identical_bytes(tmp_path):
    params = dict(n_images=10, positive_rate=0.4, size=SIZE, box_rate=0.7, rgba_rate=0.2)

    first = synthesize("nih", tmp_path / "a", params, seed=11)
    again = synthesize("nih", tmp_path / "b", params, seed=11)
    assert tree_hashes(tmp_path / "a") == tree_hashes(tmp_path / "b")
    assert len(tree_hashes(tmp_path / "a")) == 12  # 10 PNGs and the two CSVs
    assert {k: v for k, v in first.items() if k != "seconds"} == {
        k: v for k, v in again.items() if k != "seconds"
    }
    synthesize("nih", tmp_path / "c", params, seed=12)
    assert tree_hashes(tmp_path / "c") != tree_hashes(tmp_path / "a")
    with pytest.raises(InputError, match="unknown parameter 'n_readers'"):
        synthesize("nih", tmp_path / "d", {**params, "n_readers": 3}, seed=1)
    with pytest.raises(InputError, match="box_rate=1.5"):
        synthesize("nih", tmp_path / "d", {**params, "box_rate": 1.5}, seed=1)


def test_writer_plants_only_the_findings_asked_for(tmp_path):
    params = dict(n_images=10, positive_rate=0.5, size=SIZE, shortcut_rate=0.4)
    summary = synthesize(
        "nih", tmp_path, {**params, "findings": ["cardiomegaly", "pneumothorax"]}, seed=3
    )
    assert summary["findings"] == {"Pneumothorax": 5, "Infiltration": 0, "Cardiomegaly": 5}
    assert summary["n_shortcut"] == 2 and summary["n_images"] == 10
    labels = pd.read_csv(tmp_path / "Data_Entry_2017.csv", usecols=range(7))["Finding Labels"]
    assert set("|".join(labels).split("|")) <= {"Cardiomegaly", "Pneumothorax", "No Finding"}
    assert (labels == "No Finding").sum() == summary["n_no_finding"]
    boxes = pd.read_csv(tmp_path / "BBox_List_2017.csv", usecols=range(6))
    assert len(boxes) == summary["n_boxes"]
    assert list(boxes["Finding Label"]) == sorted(boxes["Finding Label"])  # grouped, as real


def test_a_box_of_another_finding_the_image_lacks_is_ignored_with_a_warning(tmp_path, caplog):
    """The box list predates the relabelled Data_Entry: a box of a finding the image is not
    labelled with is ignored (and counted) unless it is the target's."""
    root = hand_layout(tmp_path, ENTRIES, BOXES + "00000001_000.png,Mass,1,2,3,4,,,\n")
    with caplog.at_level(logging.WARNING):
        records = read_dataset("nih", root)
    assert "1 box(es) of findings that Data_Entry_2017.csv does not give" in caplog.text
    assert "row 5: a 'Mass' box for image '00000001_000.png'" in caplog.text
    assert [len(r.boxes) for r in records if r.label] == [1]  # the Pneumothorax box only
