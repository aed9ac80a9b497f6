"""The ``folder`` format (a researcher's own images, labels.csv, masks/ or boxes.csv) and its
synthetic look-alike: round trips through read_dataset and the conversion, quirks, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from conftest import tree_hashes
from PIL import Image

from saliency_audit import imageops
from saliency_audit.convert import OUTPUTS, ConvertOptions, convert_dataset
from saliency_audit.errors import AnnotationError, InputError
from saliency_audit.formats import get_format, read_dataset
from saliency_audit.formats.base import read_any_image
from saliency_audit.paths import TEMPLATES
from saliency_audit.privacy import hash_patient_id
from saliency_audit.synth import synthesize
from saliency_audit.synth.findings import findings_images
from saliency_audit.synth.folder import _STREAM, write_folder
from saliency_audit.synth.phantom import KINDS

SIZE, CONV = 96, 48
PLAN = dict(n_images=12, positive_rate=0.5, size=SIZE, seed=4, findings=list(KINDS))
TINY = dict(n_images=6, positive_rate=0.5, size=64)
COLUMN = {
    "Pneumothorax": "pneumothorax",
    "Lung Opacity": "pneumonia",
    "Cardiomegaly": "cardiomegaly",
}
FOLDER = get_format("folder")


def planned(**kw):
    """The writer's plan, drawn again: each image's findings and phantom."""
    return list(findings_images(_STREAM, **{**PLAN, **kw})[1])


def match(records, plan, exact: bool):
    """The planned image of each record, found by its pixels: equal (PNG), or the best
    correlated (JPEG; DICOM, whose loader rescales the pixels)."""
    out = []
    for rec in records:
        pixels = read_any_image(rec.path).pixels.ravel()
        if exact:
            scores = [-np.abs(pixels * 255.0 - im.phantom.image.ravel()).mean() for im in plan]
        else:
            scores = [np.corrcoef(pixels, im.phantom.image.ravel())[0, 1] for im in plan]
        best = int(np.argmax(scores))
        assert scores[best] > (-0.01 if exact else 0.99), rec.image_id
        out.append(plan[best])
    assert len({im.index for im in out}) == len(out)  # one record per planned image
    return out


def convert(records, folder):
    out = {k: Path(folder) / Path(TEMPLATES[k]).name for k in OUTPUTS}
    opts = ConvertOptions(size=CONV, salt="s", load_image=FOLDER.load_image)
    convert_dataset(records, out, opts, name="folder")
    index = pd.read_csv(out["index"], dtype={"image_id": str, "patient_hash": str})
    return np.load(out["images"]), np.load(out["masks"]), index


def union(im, kind):
    full = np.zeros((SIZE, SIZE), np.uint8)
    for instance in im.instances(kind):
        full |= instance
    return full


@pytest.fixture(scope="module")
def png_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("png") / "data"
    summary = write_folder(root, multi_image_patient_rate=0.4, **PLAN)
    return root, summary


@pytest.fixture(scope="module")
def jpeg_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("jpeg") / "data"
    write_folder(root, image_format="jpeg", annotation="boxes", box_format="corners", **PLAN)
    return root


@pytest.fixture(scope="module")
def dicom_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dicom") / "data"
    write_folder(root, image_format="dicom", **{**PLAN, "findings": ["pneumothorax"]})
    return root


# --- round trips ---------------------------------------------------------------------------


def test_png_writer_layout(png_root):
    root, summary = png_root
    assert sorted(p.name for p in root.iterdir()) == ["images", "labels.csv", "masks"]
    labels = pd.read_csv(root / "labels.csv", dtype=str)
    assert list(labels.columns) == ["image", "patient", *COLUMN]
    assert labels["image"].str.fullmatch(r"P\d{4}/image\d\.png").all()
    assert (labels["image"].str.split("/").str[0] == labels["patient"]).all()
    assert labels["patient"].value_counts().max() == 2  # some patients have two images
    assert summary["n_patients"] == labels["patient"].nunique() < 12
    for column, kind in COLUMN.items():
        assert summary[f"n_{kind}"] == (labels[column] == "1").sum() == 6  # 12 x 0.5 exactly
        masks = sorted(
            str(p.relative_to(root / "masks" / column))
            for p in (root / "masks" / column).rglob("*.png")
        )
        assert masks == sorted(labels.loc[labels[column] == "1", "image"])
    assert summary["n_normal"] == (labels[list(COLUMN)] == "0").all(axis=1).sum()


@pytest.mark.parametrize("target", list(COLUMN))
def test_png_masks_round_trip(png_root, tmp_path, target):
    root, _ = png_root
    kind = COLUMN[target]
    records = read_dataset("folder", root, {"masks": "masks/{target}"}, {"target": target})
    assert len(records) == 12 and [r.image_id for r in records] == sorted(
        r.image_id for r in records
    )
    plan = match(records, planned(), exact=True)
    assert [r.label for r in records] == [int(kind in im.kinds) for im in plan]
    assert all(r.patient_id == r.image_id.split("/")[0] for r in records)
    images, masks, index = convert(records, tmp_path)
    assert list(index["image_id"]) == [r.image_id for r in records]
    assert set(index["bits_stored"]) == {8} and set(index["photometric"]) == {"L"}
    for row, im in zip(index.itertuples(), plan, strict=True):
        expected = imageops.resize_mask(union(im, kind), (CONV, CONV))
        np.testing.assert_array_equal(masks[row.index], expected)
        assert masks[row.index].any() == (kind in im.kinds)
        assert row.patient_hash == hash_patient_id(row.image_id.split("/")[0], "s")


def test_negatives_normal_keeps_only_images_without_findings(png_root):
    root, _ = png_root
    layout = {"masks": "masks/{target}"}
    plan = {im.index: im for im in planned()}
    for settings in (
        {"target": "Pneumothorax", "negatives": "normal"},  # the dataset's own keys
        {"target": "Pneumothorax", "options": {"negatives": "normal"}},
    ):
        records = read_dataset("folder", root, layout, settings)
        kinds = [im.kinds for im in match(records, list(plan.values()), exact=True)]
        assert [r.label for r in records] == [int("pneumothorax" in k) for k in kinds]
        assert all(k == () for r, k in zip(records, kinds, strict=True) if r.label == 0)
        n_normal = sum(im.kinds == () for im in plan.values())
        assert sum(r.label == 0 for r in records) == n_normal > 0
        assert len(records) == 6 + n_normal < 12  # images with only other findings left out


def test_several_findings_need_a_target(png_root):
    root, _ = png_root
    with pytest.raises(InputError) as info:
        read_dataset("folder", root, {"masks": "masks/{target}"})
    text = str(info.value)
    assert (
        "labels.csv has 3 finding columns ('Pneumothorax', 'Lung Opacity', 'Cardiomegaly')" in text
    )
    assert "datasets.<name>.target" in text
    with pytest.raises(InputError, match="did you mean 'Pneumothorax'"):
        read_dataset("folder", root, {"masks": "masks/{target}"}, {"target": "pneumothorax"})


@pytest.mark.parametrize("target", ["Lung Opacity", "Pneumothorax"])
def test_jpeg_boxes_corners_round_trip(jpeg_root, tmp_path, caplog, target):
    kind = COLUMN[target]
    text = (jpeg_root / "boxes.csv").read_text()
    assert text.startswith("image,finding,x_min,y_min,x_max,y_max\n")
    with caplog.at_level("INFO"):
        records = read_dataset(
            "folder", jpeg_root, None, {"target": target, "box_format": "corners"}
        )
    assert "box rows of findings other than" in caplog.text
    assert all(r.path.suffix == ".jpg" and not r.regions for r in records)
    assert all(r.source.endswith("boxes.csv") for r in records)
    plan = match(records, planned(), exact=False)
    assert [r.label for r in records] == [int(kind in im.kinds) for im in plan]
    for rec, im in zip(records, plan, strict=True):
        assert [(b.x, b.y, b.width, b.height) for b in rec.boxes] == im.boxes(kind)
    _, masks, index = convert(records, tmp_path)
    for row, im in zip(index.itertuples(), plan, strict=True):
        expected = np.zeros((CONV, CONV), np.uint8)
        for box in im.boxes(kind):
            x0, y0, x1, y1 = imageops.scale_box(*box, (SIZE, SIZE), CONV)
            expected[y0 : y1 + 1, x0 : x1 + 1] = 1
        np.testing.assert_array_equal(masks[row.index], expected)
    assert set(index["transfer_syntax"]) == {"JPEG"}


def test_dicom_single_finding_default_target(dicom_root, tmp_path):
    labels = (dicom_root / "labels.csv").read_text().splitlines()
    assert labels[0] == "image,patient,label"
    records = read_dataset("folder", dicom_root)  # default layout and target
    plan = match(records, planned(findings=["pneumothorax"]), exact=False)
    assert [r.label for r in records] == [int(im.kinds == ("pneumothorax",)) for im in plan]
    assert sum(r.label for r in records) == 6
    for rec in records:
        assert rec.path.suffix == ".dcm"
        assert pydicom.dcmread(rec.path, stop_before_pixels=True).PatientID == rec.patient_id
    _, masks, index = convert(records, tmp_path)
    assert set(index["transfer_syntax"]) == {"1.2.840.10008.1.2.4.50"}
    for row, im in zip(index.itertuples(), plan, strict=True):
        expected = imageops.resize_mask(union(im, "pneumothorax"), (CONV, CONV))
        np.testing.assert_array_equal(masks[row.index], expected)


def test_same_seed_same_bytes(tmp_path):
    for k, params in enumerate(
        [
            TINY,
            dict(TINY, image_format="dicom", annotation="boxes"),
        ]
    ):
        a, b, c = (tmp_path / f"{k}{x}" for x in "abc")
        synthesize("folder", a, params, seed=7)
        synthesize("folder", b, params, seed=7)
        synthesize("folder", c, params, seed=8)
        ha, hb, hc = tree_hashes(a), tree_hashes(b), tree_hashes(c)
        assert ha == hb and len(ha) > 6
        assert "labels.csv" in ha and ha["labels.csv"] != hc["labels.csv"]
        assert sorted(ha.values()) != sorted(hc.values())


@pytest.mark.parametrize(
    "params, message",
    [
        ({"image_format": "gif"}, "image_format='gif'"),
        ({"annotation": "polygons"}, "annotation='polygons'"),
        ({"box_format": "ltrb"}, "box_format='ltrb'"),
        ({"multi_image_patient_rate": 2}, "multi_image_patient_rate=2"),
        ({"findings": ["fracture"]}, "findings="),
        ({"stage": 2}, "unknown parameter 'stage'"),
    ],
)
def test_writer_parameters_checked(tmp_path, params, message):
    with pytest.raises(InputError, match=message):
        synthesize("folder", tmp_path / "x", {**TINY, **params}, seed=0)
    assert not (tmp_path / "x").exists()


# --- quirks --------------------------------------------------------------------------------


def test_16bit_and_rgb_pngs_and_a_quirky_header(tmp_path, caplog):
    """Hand-made: a 16-bit PNG (min-max scaled), an RGB PNG (luminance) with an RGB mask, an
    8-bit negative in a subfolder; header with spaces, labels True / 0.0 / FALSE; no patient
    column (each image its own patient)."""
    images = tmp_path / "images"
    (images / "scans" / "deep").mkdir(parents=True)
    (tmp_path / "masks" / "scans").mkdir(parents=True)
    wide = (1000 + 3000 * np.linspace(0, 1, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(wide).save(images / "scans" / "wide.png")
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, :32, 0] = 255  # red left half
    rgb[:, 32:, 2] = 255  # blue right half
    Image.fromarray(rgb).save(images / "colour.png")
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(images / "scans" / "deep" / "n.png")
    lesion = np.zeros((64, 64), np.uint8)
    lesion[10:20, 30:50] = 1  # nonzero (1, not 255) is lesion
    Image.fromarray(lesion).save(tmp_path / "masks" / "scans" / "wide.png")
    colour_mask = np.zeros((64, 64, 3), np.uint8)
    colour_mask[40:60, 5:15, 1] = 200
    Image.fromarray(colour_mask).save(tmp_path / "masks" / "colour.png")
    (tmp_path / "labels.csv").write_text(
        " image , Finding \nscans/wide.png,True\ncolour.png, 1.0\nscans/deep/n.png,FALSE\n"
    )
    with caplog.at_level("INFO"):
        records = read_dataset("folder", tmp_path)
    assert "no column 'patient': each image is its own patient" in caplog.text
    assert [(r.image_id, r.label, r.patient_id) for r in records] == [
        ("colour", 1, None),
        ("scans/deep/n", 0, None),
        ("scans/wide", 1, None),
    ]
    out = tmp_path / "out"
    out.mkdir()
    opts = ConvertOptions(size=64, salt="s", load_image=FOLDER.load_image)
    convert_dataset(records, {k: out / Path(TEMPLATES[k]).name for k in OUTPUTS}, opts)
    stack, masks = np.load(out / "images.npy"), np.load(out / "masks.npy")
    index = pd.read_csv(out / "index.csv", dtype={"image_id": str, "patient_hash": str})
    assert list(index["bits_stored"]) == [8, 8, 16]
    assert list(index["photometric"]) == ["RGB", "L", "I;16"]
    assert (stack[0][:, :32] == 76).all() and (stack[0][:, 32:] == 29).all()  # ITU-R 601
    assert (stack[1] == 128).all()
    scaled = imageops.to_uint8((wide.astype(np.float64) - 1000) / 3000)
    np.testing.assert_array_equal(stack[2], scaled)
    expected = np.zeros((64, 64), np.uint8)
    expected[40:60, 5:15] = 1
    np.testing.assert_array_equal(masks[0], expected)
    assert not masks[1].any()
    np.testing.assert_array_equal(masks[2], lesion)
    assert index["patient_hash"].nunique() == 3


def test_mask_files_missing_stray_and_skipped_images(tmp_path, caplog):
    """A positive without a mask is dropped (logged); masks of unlabelled images are counted
    and ignored; labelled images without a file stop the read, or are skipped."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks" / "old").mkdir(parents=True)
    for name in ("a", "b", "c"):
        (tmp_path / "images" / f"{name}.png").touch()
    for name in ("a", "zz", "old/yy"):
        (tmp_path / "masks" / f"{name}.png").touch()
    labels = tmp_path / "labels.csv"
    labels.write_text("image,patient,label\na.png,p1,1\nb.png,p1,1\nc.png,p2,0\n")
    with caplog.at_level("INFO"):
        records = read_dataset("folder", tmp_path)
    assert [(r.image_id, r.label, r.patient_id) for r in records] == [
        ("a", 1, "p1"),
        ("c", 0, "p2"),
    ]
    assert records[0].regions[0].path == tmp_path / "masks" / "a.png"
    assert "2 mask files of images without a row in" in caplog.text
    assert "1 of 2 positive images have no ground-truth region or box" in caplog.text
    labels.write_text("image,label\na.png,1\nd.png,0\nc.png,0\ne.jpg,1\n")
    with pytest.raises(InputError) as info:
        read_dataset("folder", tmp_path)
    text = str(info.value)
    assert "labels.csv: 2 of 4 labelled images have no image file under" in text
    assert "'d.png' (row 3), 'e.jpg' (row 5)" in text and "missing_images: skip" in text
    labels.write_text("image,label\na.png,1\nd.png,0\n")
    with pytest.raises(InputError, match=r"labels.csv, row 3: image 'd.png' has no image file"):
        read_dataset("folder", tmp_path)
    caplog.clear()
    with caplog.at_level("WARNING"):
        records = read_dataset("folder", tmp_path, None, {"options": {"missing_images": "skip"}})
    assert [r.image_id for r in records] == ["a"]
    assert "1 of 2 labelled images have no image file" in caplog.text and "skipped" in caplog.text


def test_other_columns_and_layout_keys(tmp_path):
    """image_column / patient_column options; a box CSV without a finding column (every box
    is the target's); the layout keys moved elsewhere."""
    (tmp_path / "pics" / "x").mkdir(parents=True)
    for name in ("x/a.tif", "b.dcm"):
        (tmp_path / "pics" / name).touch()
    (tmp_path / "meta.csv").write_text("file,subject,Mass\nx/a.tif,s9,1\nb.dcm,s9,0\n")
    (tmp_path / "rects.csv").write_text("image,x,y,width,height\n./x/a.tif,1.5,2,3,4\n")
    layout = {"images": "pics", "labels": "meta.csv", "boxes": "rects.csv"}
    options = {"options": {"image_column": "file", "patient_column": "subject"}}
    records = read_dataset("folder", tmp_path, layout, options)
    assert [(r.image_id, r.label, r.patient_id) for r in records] == [
        ("b", 0, "s9"),
        ("x/a", 1, "s9"),
    ]
    assert [(b.x, b.y, b.width, b.height, b.line) for b in records[1].boxes] == [(1.5, 2, 3, 4, 2)]
    assert records[1].path == tmp_path / "pics" / "x" / "a.tif"
    assert FOLDER.label_files({**FOLDER.layout, "masks": None, **layout}) == ["labels", "boxes"]


# --- errors --------------------------------------------------------------------------------


def folder_layout(tmp_path, labels, boxes=None, masks=True, names=("a", "b")):
    (tmp_path / "images").mkdir()
    for name in names:
        (tmp_path / "images" / f"{name}.png").touch()
    if masks:
        (tmp_path / "masks").mkdir()
    (tmp_path / "labels.csv").write_text(labels)
    if boxes is not None:
        (tmp_path / "boxes.csv").write_text(boxes)


@pytest.mark.parametrize(
    "labels, message",
    [
        ("name,label\na.png,1\n", r"labels.csv, row 1: no column 'image' .*option image_column"),
        ("image,label\na.png,1\na.png,0\n", r"labels.csv, row 3: image 'a.png' is also on row 2"),
        ("image,label\na.png,1\nb.png,0\na.jpg,0\n", r"row 4: image id 'a' .* also that of row 2"),
        ("image,label\na.png,1\nb.png,yes\n", r"labels.csv, row 3: column 'label': 'yes' is not a"),
        ("image,label\na.png,1\nb.png,\n", r"labels.csv, row 3: column 'label': '' is not a"),
        ("image,label\na.png,1\nb.png,2\n", r"labels.csv, row 3: column 'label': '2'"),
        ("image,label\na.png,1\n,0\n", r"labels.csv, row 3: empty image"),
        ("image,patient\na.png,p1\n", r"labels.csv: no finding column"),
    ],
)
def test_label_errors_name_the_row(tmp_path, labels, message):
    folder_layout(tmp_path, labels)
    with pytest.raises(InputError, match=message):
        read_dataset("folder", tmp_path)


@pytest.mark.parametrize(
    "boxes, box_format, message",
    [
        ("image,x,y,width,height\nzz.png,1,1,2,2\n", "xywh", r"row 2: image 'zz.png' has no row"),
        ("image,x,y,width,height\na.png,1,1,0,2\n", "xywh", r"row 2: box size 0.0 x 2.0 is not"),
        ("image,x,y,width,height\na.png,1,1,3,-2\n", "xywh", r"row 2: box size .* not positive"),
        ("image,x,y,width,height\na.png,-1,1,3,2\n", "xywh", r"row 2: box corner .* negative"),
        ("image,x,y,width,height\na.png,nan,1,3,2\n", "xywh", r"row 2: x='nan' is not a finite"),
        (
            "image,x_min,y_min,x_max,y_max\na.png,1,1,5,5\na.png,5,5,3,9\n",
            "corners",
            r"row 3: box corners \(5.0, 5.0\) -> \(3.0, 9.0\) do not increase",
        ),
        ("image,x_min,y_min,x_max,y_max\na.png,1,4,5,4\n", "corners", r"row 2: box corners"),
        (
            "image,x_min,y_min,x_max,y_max\na.png,1,1,5,5\n",
            "xywh",
            r"row 1: no column\(s\) x, y, width, height .*option box_format: 'xywh'",
        ),
        ("image,x,y,width,height\na.png,1,1,3,3\n", "corners", r"row 1: no column\(s\) x_min"),
        (
            "image,x,y,width,height\na.png,1,1,3,3\nb.png,1,1,3,3\n",
            "xywh",
            r"boxes.csv, row 3: .*'b.png', which .*labels.csv row 3 labels 0 .*conflicting"
            r".*column 'finding'",
        ),
    ],
)
def test_box_errors_name_the_row(tmp_path, boxes, box_format, message):
    folder_layout(tmp_path, "image,label\na.png,1\nb.png,0\n", boxes, masks=False)
    with pytest.raises(AnnotationError, match=message) as info:
        read_dataset("folder", tmp_path, None, {"box_format": box_format})
    assert "boxes.csv" in str(info.value)


def test_ground_truth_source_errors(tmp_path):
    folder_layout(tmp_path, "image,label\na.png,1\nb.png,0\n", masks=False)
    with pytest.raises(
        InputError, match="neither masks nor boxes.*layout key masks.*layout key boxes"
    ):
        read_dataset("folder", tmp_path)
    (tmp_path / "masks").mkdir()
    (tmp_path / "boxes.csv").write_text("image,x,y,width,height\n")
    with pytest.raises(
        InputError, match="both masks .* and boxes .*set one of .*masks or boxes to null"
    ):
        read_dataset("folder", tmp_path)
    assert [r.label for r in read_dataset("folder", tmp_path, {"masks": None})] == [0]
    with pytest.raises(
        InputError, match=r"masks/label: mask folder not found \(layout key masks\)"
    ):
        read_dataset("folder", tmp_path, {"masks": "masks/{target}", "boxes": None})
    with pytest.raises(InputError, match="option box_format: 'ltrb'"):
        read_dataset("folder", tmp_path, {"masks": None}, {"box_format": "ltrb"})
    with pytest.raises(InputError, match="image folder not found"):
        read_dataset("folder", tmp_path, {"masks": None, "images": "pics"})


def test_mask_of_another_size_names_the_file(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "images" / "a.png")
    Image.fromarray(np.ones((32, 64), np.uint8)).save(tmp_path / "masks" / "a.png")
    (tmp_path / "labels.csv").write_text("image,label\na.png,1\n")
    records = read_dataset("folder", tmp_path)
    with pytest.raises(InputError, match=r"masks/a.png: mask is 32x64 .* image is 64x64"):
        convert(records, tmp_path / "out")


def test_default_look_alike_reads_with_the_format_defaults(tmp_path):
    """One finding by default: a `label` column and masks/<patient>/<image>.png, which the
    format's default target and layout read without any setting."""
    synthesize("folder", tmp_path / "d", TINY, seed=3)
    labels = pd.read_csv(tmp_path / "d/labels.csv", dtype=str)
    assert list(labels.columns) == ["image", "patient", "label"]
    records = read_dataset("folder", tmp_path / "d")
    assert sum(r.label for r in records) == 3 and all(r.annotated for r in records if r.label)


def test_rgba_masks_and_dicoms_named_by_uid(tmp_path):
    """An RGBA mask's opaque alpha is no lesion; a DICOM named by its UID (no suffix, dots in
    the name) keeps its whole name as id and mask name, and is read as DICOM."""
    from saliency_audit.synth.dicom_writer import write_cr_dicom

    root = tmp_path / "d"
    uid = "1.2.840.113619.2.55.3.6046"
    pixels = np.zeros((8, 8), np.uint8)
    pixels[2:4, 2:6] = 200
    header = dict(study_uid="1.2.3", series_uid="1.2.4", age="050Y", sex="F", view="PA")
    for name in (uid, "1.2.840.113619.2.55.3.6047"):
        write_cr_dicom(
            root / "images" / name,
            pixels,
            patient_id="p",
            patient_name="p",
            sop_uid=name,
            **header,
        )
    mask = np.zeros((8, 8, 4), np.uint8)
    mask[..., 3] = 255  # opaque everywhere
    mask[2:4, 2:6, :3] = 255  # white lesion
    (root / "masks").mkdir(parents=True)
    Image.fromarray(mask, "RGBA").save(root / "masks" / f"{uid}.png")
    (root / "labels.csv").write_text(f"image,label\n{uid},1\n1.2.840.113619.2.55.3.6047,0\n")
    records = read_dataset("folder", root)
    assert [r.image_id for r in records] == [uid, "1.2.840.113619.2.55.3.6047"]
    canvas = np.zeros((8, 8), np.uint8)
    records[0].regions[0].paint(canvas)
    assert canvas.sum() == 8 and canvas[2:4, 2:6].all()
    assert read_any_image(records[0].path).photometric == "MONOCHROME2"
