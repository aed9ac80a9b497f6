"""The chexlocalize format: CheXpert validation JPEGs with CheXlocalize segmentations and
polygons, read from the synthetic look-alike and from hand-written layouts."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tree_hashes

from saliency_audit.convert import OUTPUTS, ConvertOptions, convert_dataset
from saliency_audit.errors import AnnotationError, InputError
from saliency_audit.formats import get_format, read_dataset
from saliency_audit.formats.base import read_raster_image
from saliency_audit.formats.chexlocalize import TARGETS, coco_runs, read_chexlocalize
from saliency_audit.imageops import resize_mask
from saliency_audit.paths import TEMPLATES
from saliency_audit.synth import synthesize
from saliency_audit.synth.chexlocalize import (
    _STREAM,
    encode_segmentation,
    plan_studies,
    write_chexlocalize,
)
from saliency_audit.synth.findings import findings_images

SIZE = 32  # converted size
PLAN = dict(n_images=12, positive_rate=0.5, size=64, seed=3)
EXTRA = dict(lateral_rate=0.25, multi_image_patient_rate=0.5)
CSV_OF = {
    "pneumothorax": "Pneumothorax",
    "pneumonia": "Lung Opacity",
    "cardiomegaly": "Cardiomegaly",
}
KIND_OF = {v: k for k, v in CSV_OF.items()}
LABELS = "CheXpert/val_labels.csv"
SEGMENTATIONS = "CheXlocalize/gt_segmentations_val.json"
ANNOTATIONS = "CheXlocalize/gt_annotations_val.json"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("chexlocalize") / "data"
    write_chexlocalize(root, **EXTRA, **PLAN)
    return root


@pytest.fixture(scope="module")
def planted():
    """image id -> (findings, {finding: union of its planted instances, padded}); the
    lateral ids; patient number per frontal id."""
    kinds, images = findings_images(_STREAM, **PLAN)
    studies = plan_studies(PLAN["n_images"], PLAN["seed"], **EXTRA)
    frontal = {}
    for image, study in zip(images, studies, strict=True):
        masks = {k: pad(np.bitwise_or.reduce(image.instances(k))) for k in image.kinds}
        frontal[study.frontal_id] = (image.kinds, masks)
    laterals = {s.lateral_id: kinds[i] for i, s in enumerate(studies) if s.lateral}
    return frontal, laterals, {s.frontal_id: s.patient for s in studies}


def pad(square):
    """64 x 64 -> 64 x 77: 6 black columns left, 7 right (round(1.2 * 64) = 77)."""
    assert square.shape == (64, 64)
    return np.pad(square, ((0, 0), (6, 7)))


def settings(**kw):
    """A dataset's config: top-level target/negatives, the rest under ``options:``."""
    top = {k: kw.pop(k) for k in ("target", "negatives") if k in kw}
    return {**top, "options": kw}


def read(root, **kw):
    s = settings(**kw)
    return read_dataset("chexlocalize", root, s, s)


def convert(records, folder):
    out = {k: Path(folder) / Path(TEMPLATES[k]).name for k in OUTPUTS}
    convert_dataset(records, out, ConvertOptions(size=SIZE, salt="s", load_image=read_raster_image))
    index = pd.read_csv(out["index"], dtype={"image_id": str, "patient_hash": str})
    return index, np.load(out["masks"])


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("target", ["Pneumothorax", "Lung Opacity", "Cardiomegaly"])
def test_round_trip_labels_and_masks_match_the_plan(root, planted, tmp_path, target):
    frontal, _, patients = planted
    kind = KIND_OF[target]
    records = read(root) if target == "Pneumothorax" else read(root, target=target)
    assert [r.image_id for r in records] == sorted(frontal)  # laterals left out
    assert {r.image_id: r.label for r in records} == {
        i: int(kind in kinds) for i, (kinds, _) in frontal.items()
    }
    assert 0 < sum(r.label for r in records) < len(records)
    index, masks = convert(records, tmp_path)
    # not square: 64 rows x round(1.2 * 64) = 77 columns, read as written, black at the sides
    assert set(index["orig_rows"]) == {64} and set(index["orig_cols"]) == {77}
    jpeg = read_raster_image(records[0].path).pixels
    assert jpeg[:, :5].max() < 0.05 and jpeg[:, -6:].max() < 0.05 and jpeg[:, 30:40].mean() > 0.2
    for row in index.itertuples():
        kinds, planted_masks = frontal[row.image_id]
        if kind in kinds:
            expected = resize_mask(planted_masks[kind], (SIZE, SIZE))
            np.testing.assert_array_equal(masks[row.index], expected)
            assert expected.any()
        else:
            assert not masks[row.index].any()
    # patient ids: the patient folder; two studies of one patient share the hash
    by_patient = index.groupby(index["image_id"].map(patients))["patient_hash"].nunique()
    assert (by_patient == 1).all()
    assert index["image_id"].map(patients).value_counts().max() == 2
    assert index["patient_hash"].nunique() == len(set(patients.values()))


def test_records_carry_patient_and_files(root):
    records = read(root)
    for rec in records:
        patient, study, view = rec.path.relative_to(root / "CheXpert/val").parts
        assert rec.image_id == f"{patient}_{study}_{Path(view).stem}"
        assert rec.patient_id == patient and rec.path.is_file()


def test_the_plan_is_what_the_summary_says(tmp_path, planted):
    frontal, laterals, patients = planted
    summary = write_chexlocalize(tmp_path / "d", **EXTRA, **PLAN)
    assert summary["n_images"] == 12 and summary["n_lateral"] == len(laterals) == 3
    assert summary["n_patients"] == len(set(patients.values())) < 12
    for kind in CSV_OF:
        assert summary[f"n_{kind}"] == 6 == sum(kind in k for k, _ in frontal.values())
    assert summary["n_no_finding"] == sum(not k for k, _ in frontal.values())


# ----------------------------------------------------------------------------- quirks
def test_csv_prefix_is_not_the_image_folder(root, tmp_path):
    frame = pd.read_csv(root / LABELS, dtype=str, keep_default_na=False)
    assert frame["Path"].str.startswith("CheXpert-v1.0/valid/patient").all()
    assert list(frame["Path"]) == sorted(frame["Path"])
    assert not (root / "CheXpert-v1.0").exists()
    # any other prefix (the "-small" download, none at all) finds the same files
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    frame["Path"] = [
        p.replace("CheXpert-v1.0/valid/", "CheXpert-v1.0-small/valid/" if i % 2 else "")
        for i, p in enumerate(frame["Path"])
    ]
    frame.to_csv(copy / LABELS, index=False)
    again = read(copy)
    assert [(r.image_id, r.label) for r in again] == [(r.image_id, r.label) for r in read(root)]


def test_lung_opacity_is_the_jsons_airspace_opacity(root, tmp_path):
    header = (root / LABELS).read_text().splitlines()[0].split(",")
    assert "Lung Opacity" in header and "Airspace Opacity" not in header
    seg = json.loads((root / SEGMENTATIONS).read_text())
    ann = json.loads((root / ANNOTATIONS).read_text())
    assert all("Airspace Opacity" in v and "Lung Opacity" not in v for v in seg.values())
    assert any("Airspace Opacity" in v for v in ann.values())
    assert not any("Lung Opacity" in v for v in ann.values())

    def regions(records):
        return [(r.image_id, r.label, [g.rle for g in r.regions]) for r in records]

    by_csv = read(root, target="Lung Opacity")
    assert any(r.regions for r in by_csv)
    assert regions(read(root, target="Airspace Opacity")) == regions(by_csv)
    # the other way round: a JSON that says "Lung Opacity" (and a CSV "Airspace Opacity")
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    renamed = {i: {k.replace("Airspace", "Lung"): v for k, v in e.items()} for i, e in seg.items()}
    (copy / SEGMENTATIONS).write_text(json.dumps(renamed))
    csv = copy / LABELS
    csv.write_text(csv.read_text().replace("Lung Opacity", "Airspace Opacity", 1))
    assert regions(read(copy, target="Airspace Opacity")) == regions(by_csv)


def test_polygons_fill_to_the_segmentations(root, tmp_path):
    ann = json.loads((root / ANNOTATIONS).read_text())
    seg = json.loads((root / SEGMENTATIONS).read_text())
    assert sorted(ann) == sorted(seg)
    first = ann[sorted(ann)[0]]
    assert first["img_size"] == [64, 77]
    point = next(v for k, v in first.items() if k != "img_size")[0][0]
    assert len(point) == 2 and all(isinstance(c, float) for c in point)
    for target in ("Pneumothorax", "Lung Opacity", "Cardiomegaly"):
        by_seg = read(root, target=target)
        by_ann = read(root, target=target, ground_truth="annotations")
        assert [(r.image_id, r.label) for r in by_ann] == [(r.image_id, r.label) for r in by_seg]
        _, a = convert(by_seg, tmp_path / f"seg-{target}")
        _, b = convert(by_ann, tmp_path / f"ann-{target}")
        positives = [i for i, r in enumerate(by_seg) if r.label]
        assert positives and all(iou(a[i], b[i]) > 0.9 for i in positives)
        assert not b[[i for i, r in enumerate(by_seg) if not r.label]].any()


def test_lateral_views_left_out_or_kept(root, planted, caplog):
    frontal, laterals, _ = planted
    with caplog.at_level(logging.INFO, logger="saliency_audit.formats"):
        records = read(root)
    assert not [r for r in records if r.image_id.endswith("lateral")]
    assert "3 left out (lateral view)" in caplog.text
    every = read_chexlocalize(
        root / "CheXpert/val", root / LABELS, root / SEGMENTATIONS, views="all"
    )
    kept = {r.image_id: r.label for r in every if r.image_id.endswith("_view2_lateral")}
    assert kept == {i: int("pneumothorax" in k) for i, k in laterals.items()}
    assert not any(r.regions for r in every if r.image_id in kept)  # no ground truth
    # read_dataset drops the positive laterals (no ground truth), keeps the negative ones
    with_laterals = {r.image_id for r in read(root, views="all")}
    assert with_laterals - set(frontal) == {i for i, v in kept.items() if v == 0}


def test_negatives_normal_keeps_only_images_without_findings(root, planted):
    frontal, _, _ = planted
    for target, kind in (("Pneumothorax", "pneumothorax"), ("Cardiomegaly", "cardiomegaly")):
        records = read(root, target=target, negatives="normal")
        assert {r.image_id for r in records if r.label} == {
            i for i, (k, _) in frontal.items() if kind in k
        }
        negatives = {r.image_id for r in records if not r.label}
        assert negatives == {i for i, (k, _) in frontal.items() if not k}
        assert negatives and len(records) < len(frontal)


# ----------------------------------------------------------------------------- hand-written
HEADER = (
    "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,"
    "Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,"
    "Pleural Effusion,Pleural Other,Fracture,Support Devices"
)


def row(patient, ptx, *, view="view1_frontal", no_finding="0.0", frontal="Frontal"):
    labels = ["0.0"] * 14
    labels[0], labels[9] = no_finding, ptx
    path = f"CheXpert-v1.0/valid/patient{patient}/study1/{view}.jpg"
    return ",".join([path, "Female", "70", frontal, "AP", *labels])


def hand_layout(tmp_path, rows, seg=None, files=None):
    """Empty JPEG placeholders (nothing opens them), the CSV and a segmentation JSON: a
    4 x 5 mask for the Pneumothorax of patient 1 (the first row)."""
    root = tmp_path / "hand"
    for patient in files if files is not None else range(1, len(rows) + 1):
        folder = root / f"CheXpert/val/patient{patient}/study1"
        folder.mkdir(parents=True)
        (folder / "view1_frontal.jpg").touch()
    (root / LABELS).write_text("\n".join([HEADER, *rows]) + "\n")
    mask = np.zeros((4, 5), np.uint8)
    mask[1:3, 2:4] = 1
    if seg is None:
        seg = {"patient1_study1_view1_frontal": {"Pneumothorax": encode_segmentation(mask)}}
    (root / SEGMENTATIONS).parent.mkdir(parents=True)
    (root / SEGMENTATIONS).write_text(json.dumps(seg))
    return root


def read_hand(root, **kw):
    return read_chexlocalize(root / "CheXpert/val", root / LABELS, root / SEGMENTATIONS, **kw)


@pytest.mark.parametrize(
    "uncertain, labels",
    [
        ("exclude", {1: 1, 2: 0}),
        ("positive", {1: 1, 2: 0, 3: 1, 4: 1}),
        ("negative", {1: 1, 2: 0, 3: 0, 4: 0}),
    ],
)
def test_uncertain_and_empty_labels(tmp_path, caplog, uncertain, labels):
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0"), row(3, "-1.0"), row(4, "")])
    with caplog.at_level(logging.INFO, logger="saliency_audit.formats"):
        records = read_hand(root, uncertain=uncertain)
    assert {int(r.patient_id[7:]): r.label for r in records} == labels
    assert [len(r.regions) for r in records] == [1] + [0] * (len(labels) - 1)
    if uncertain == "exclude":
        assert "2 left out (uncertain" in caplog.text


def test_hand_written_mask_is_painted_where_written(tmp_path):
    root = hand_layout(tmp_path, [row(1, "1"), row(2, "0.0")])
    (rec, _) = read_hand(root)
    canvas = np.zeros((4, 5), np.uint8)
    rec.regions[0].paint(canvas)
    assert canvas.tolist() == [[0] * 5, [0, 0, 1, 1, 0], [0, 0, 1, 1, 0], [0] * 5]
    assert rec.regions[0].line == "patient1_study1_view1_frontal / Pneumothorax"


def test_all_zero_segmentation_is_no_ground_truth(tmp_path, caplog):
    empty = encode_segmentation(np.zeros((4, 5), np.uint8))
    seg = {"patient1_study1_view1_frontal": {"Pneumothorax": empty}}
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0.0")], seg=seg)
    assert [r.regions for r in read_hand(root)] == [[], []]
    with caplog.at_level(logging.WARNING):
        records = read_dataset("chexlocalize", root)
    assert [r.image_id for r in records] == ["patient2_study1_view1_frontal"]
    assert "1 of 1 positive images have no ground-truth" in caplog.text


@pytest.mark.parametrize(
    "rows, files, message",
    [
        (
            [row(1, "1.0"), row(2, "0.0"), row(3, "0.0")],
            [1],
            r"2 of 3 .*'patient2_study1_view1_frontal' \(row 3\), 'patient3",
        ),
        ([row(1, "1.0"), row(2, "2.0")], None, r"val_labels.csv, row 3: Pneumothorax='2.0'"),
        ([row(1, "1.0"), row(2, "0.0", no_finding="yes")], None, r"row 3: No Finding='yes'"),
        (
            [row(1, "1.0"), row(2, "0.0").replace("/study1/", "/")],
            None,
            r"row 3: Path=.* does not end in patient\*/study\*/view\*\.jpg",
        ),
        ([row(1, "1.0"), row(2, "0.0", frontal="Side")], None, r"row 3: Frontal/Lateral='Side'"),
        (
            [row(1, "1.0"), row(1, "0.0")],
            None,
            r"row 3: image 'patient1_study1_view1_frontal' is also row 2",
        ),
    ],
)
def test_bad_rows_are_named(tmp_path, rows, files, message):
    root = hand_layout(tmp_path, rows, files=files)
    with pytest.raises(InputError, match=message) as info:
        read_hand(root)
    assert "val_labels.csv" in str(info.value)


def test_rle_runs_are_those_pycocotools_encodes():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    for shape, p in (((7, 9), 0.5), ((40, 33), 0.02), ((3, 1000), 0.9), ((5, 5), 0.0)):
        mask = (rng.random(shape) < p).astype(np.uint8)
        rle = encode_segmentation(mask)
        runs = coco_runs(rle["counts"])
        flat = mask.ravel(order="F")
        starts = np.flatnonzero(np.diff(np.concatenate([[0], flat])))  # a run begins (zeros first)
        expected = np.diff(np.concatenate([[0], starts, [flat.size]])).tolist()
        assert runs == expected
        assert sum(runs) == mask.size and sum(runs[1::2]) == mask.sum()
        assert mask_utils.area({**rle, "counts": rle["counts"].encode()}) == sum(runs[1::2])


def _rle(size=(4, 5)):
    return encode_segmentation(np.zeros(size, np.uint8))


@pytest.mark.parametrize(
    "seg, message",
    [
        (
            {"patient9_study1_view1_frontal": {}},
            r"1 image id\(s\) not in the label CSV: 'patient9_study1_view1_frontal'",
        ),
        (
            {"patient1_study1_view1_frontal": []},
            r"row patient1_study1_view1_frontal: expected an object",
        ),
        (
            {"patient1_study1_view1_frontal": {"Pneumothorax": {"size": [4, 5]}}},
            r"row patient1_study1_view1_frontal / Pneumothorax: expected \{'size'",
        ),
        (
            {"patient1_study1_view1_frontal": {"Pneumothorax": {"size": [4], "counts": "x"}}},
            r"/ Pneumothorax: size=\[4\]",
        ),
        (
            {"patient1_study1_view1_frontal": {"Pneumothorax": {"size": [4, 5], "counts": 7}}},
            r"/ Pneumothorax: counts is neither",
        ),
        (
            {
                "patient1_study1_view1_frontal": {
                    "Pneumothorax": {"size": [4, 5], "counts": "\x7f\x7f"}
                }
            },
            r"/ Pneumothorax: cannot read the RLE",
        ),
        (
            {"patient1_study1_view1_frontal": {"Pneumothorax": {**_rle(), "size": [4, 6]}}},
            r"/ Pneumothorax: the RLE's runs cover 20 pixels .* size is 4x6 = 24",
        ),
        ({"patient1_study1_view1_frontal": {"Pneumonia": _rle()}}, r"/ Pneumonia: unknown finding"),
    ],
)
def test_bad_segmentation_entries_are_named(tmp_path, seg, message):
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0.0")], seg=seg)
    with pytest.raises(InputError, match=message) as info:
        read_hand(root)
    assert "gt_segmentations_val.json" in str(info.value)


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            {"Pneumothorax": [[[1, 1], [3, 1], [3, 2]]]},
            r"row patient1_study1_view1_frontal: no img_size",
        ),
        ({"img_size": [4, 5, 1]}, r"/ img_size: img_size=\[4, 5, 1\]"),
        (
            {"img_size": [4, 5], "Pneumothorax": [[[1, 1], [3, 1, 2], [3, 2]]]},
            r"/ Pneumothorax: expected a list of contours",
        ),
        (
            {"img_size": [4, 5], "Pneumothorax": [[[1, 1], [3, "a"], [3, 2]]]},
            r"/ Pneumothorax: expected a list of contours",
        ),
    ],
)
def test_bad_annotation_entries_are_named(tmp_path, entry, message):
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0.0")])
    path = root / ANNOTATIONS
    path.write_text(json.dumps({"patient1_study1_view1_frontal": entry}))
    with pytest.raises(AnnotationError, match=message) as info:
        read_dataset("chexlocalize", root, options={"ground_truth": "annotations"})
    assert "gt_annotations_val.json" in str(info.value)


def test_hand_written_polygons_fill_like_chexlocalize(tmp_path):
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0.0")])
    polygon = [[1.0, 1.0], [4.0, 1.0], [4.0, 3.0], [1.0, 3.0]]
    entry = {"img_size": [4, 5], "Pneumothorax": [polygon], "Cardiomegaly": []}
    (root / ANNOTATIONS).write_text(json.dumps({"patient1_study1_view1_frontal": entry}))
    (rec, neg) = read_dataset("chexlocalize", root, options={"ground_truth": "annotations"})
    assert rec.regions[0].size == (4, 5) and not neg.regions
    canvas = np.zeros((4, 5), np.uint8)
    rec.regions[0].paint(canvas)
    assert canvas.tolist() == [[0] * 5, [0, 1, 1, 1, 1], [0, 1, 1, 1, 1], [0, 1, 1, 1, 1]]


def test_missing_json_options_and_target_are_named(tmp_path):
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0.0")])
    with pytest.raises(
        InputError, match=r"gt_annotations_val.json: not found.*datasets.<name>.annotations"
    ):
        read_dataset("chexlocalize", root, options={"ground_truth": "annotations"})
    with pytest.raises(
        InputError, match=r"other.json: CheXlocalize JSON not found .*\.annotations"
    ):
        read_dataset(
            "chexlocalize",
            root,
            {"annotations": "other.json"},
            {"options": {"ground_truth": "annotations"}},
        )
    (root / SEGMENTATIONS).unlink()
    with pytest.raises(InputError, match=r"datasets.<name>.segmentations"):
        read_dataset("chexlocalize", root)
    with pytest.raises(InputError, match=r"options.views: 'both'"):
        read_hand(root, views="both")
    with pytest.raises(InputError, match=r"options.uncertain: 'maybe'"):
        read_hand(root, uncertain="maybe")
    with pytest.raises(InputError, match=r"target: 'pneumothorax' .*did you mean 'Pneumothorax'"):
        read_hand(root, target="pneumothorax")
    with pytest.raises(InputError, match=r"target: 'Pneumonia' is not a finding"):
        read_hand(root, target="Pneumonia")
    with pytest.raises(InputError, match=r"negatives: 'some'"):
        read_hand(root, negatives="some")


def test_format_record():
    fmt = get_format("chexlocalize")
    assert fmt.targets == TARGETS and len(TARGETS) == 10 and "Lung Opacity" in TARGETS
    assert fmt.options == {
        "target": "Pneumothorax",
        "negatives": "absent",
        "ground_truth": "segmentations",
        "uncertain": "exclude",
        "views": "frontal",
        "missing_images": "error",
    }
    assert fmt.label_files(fmt.layout) == ["labels", "segmentations", "annotations"]


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes(tmp_path):
    params = dict(n_images=6, positive_rate=0.5, size=64, lateral_rate=0.5)
    synthesize("chexlocalize", tmp_path / "a", params, seed=7)
    synthesize("chexlocalize", tmp_path / "b", params, seed=7)
    synthesize("chexlocalize", tmp_path / "c", params, seed=8)
    a, b, c = (tree_hashes(tmp_path / x) for x in "abc")
    assert a == b and len(a) == 6 + 3 + 4  # frontal, lateral JPEGs, CSV and 3 JSONs
    assert a != c
    with pytest.raises(InputError, match="lateral_rate=2"):
        synthesize("chexlocalize", tmp_path / "d", {**params, "lateral_rate": 2}, seed=0)
    with pytest.raises(InputError, match="'box_rate'"):
        synthesize("chexlocalize", tmp_path / "d", {**params, "box_rate": 0.5}, seed=0)
    assert not (tmp_path / "d").exists()


def test_findings_parameter_plants_only_those(tmp_path):
    summary = write_chexlocalize(
        tmp_path / "d", n_images=4, positive_rate=0.5, size=64, seed=0, findings=["cardiomegaly"]
    )
    assert summary["n_cardiomegaly"] == 2 and summary["n_pneumothorax"] == 0
    frame = pd.read_csv(tmp_path / "d" / LABELS, dtype=str)
    assert sorted(frame["Cardiomegaly"]) == ["0.0", "0.0", "1.0", "1.0"]
    assert set(frame["Pneumothorax"]) == {"0.0"}
    assert sorted(frame["No Finding"]) == ["0.0", "0.0", "1.0", "1.0"]


def test_short_contours_are_drawn_as_cheXlocalize_draws_them(tmp_path):
    """A two-point contour is the line PIL's polygon draws (as annotation_to_segmentation.py
    does), a one-point contour its pixel: nothing stops the conversion."""
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0.0")])
    entry = {"img_size": [4, 5], "Pneumothorax": [[[1, 1], [3, 1]], [[4, 3]]]}
    (root / ANNOTATIONS).write_text(json.dumps({"patient1_study1_view1_frontal": entry}))
    (rec, _) = read_dataset("chexlocalize", root, options={"ground_truth": "annotations"})
    canvas = np.zeros((4, 5), np.uint8)
    rec.regions[0].paint(canvas)
    expected = np.zeros((4, 5), np.uint8)
    expected[1, 1:4] = 1
    expected[3, 4] = 1
    np.testing.assert_array_equal(canvas, expected)


def test_missing_images_skip_leaves_them_out(tmp_path, caplog):
    """missing_images: skip (as in the other formats): rows without a JPEG are left out."""
    root = hand_layout(tmp_path, [row(1, "1.0"), row(2, "0.0"), row(3, "0.0")], files=[1, 3])
    with caplog.at_level(logging.WARNING):
        records = read_hand(root, missing_images="skip")
    assert [r.image_id for r in records] == [
        "patient1_study1_view1_frontal",
        "patient3_study1_view1_frontal",
    ]
    assert "1 of 3 labelled images have no JPEG" in caplog.text and "skipped" in caplog.text
