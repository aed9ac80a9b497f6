"""Tests of the synthetic SIIM-ACR / RSNA look-alike generator (stage 1)."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.uid import JPEGBaseline8Bit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from saliency_audit import rle
from saliency_audit.errors import InputError
from saliency_audit.synth import dicom_writer as writer_module
from saliency_audit.synth import (
    draw_phantom,
    rsna_records,
    siim_records,
    synthesize,
    write_cr_dicom,
    write_rsna,
    write_siim,
)

SIZE = 128
SIIM_PARAMS = dict(
    n_images=24,
    positive_rate=0.5,
    size=SIZE,
    seed=3,
    shortcut_rate=0.5,
    multi_image_patient_rate=0.3,
)
RSNA_PARAMS = dict(
    n_images=24, positive_rate=0.5, size=SIZE, seed=3, shortcut_rate=0.5, not_normal_rate=0.3
)
SIIM_UID = re.compile(r"^1\.2\.276\.0\.7230010\.3\.1\.4\.8323329\.\d+\.\d+\.\d+$")
CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"


@pytest.fixture(scope="module")
def siim_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("siim") / "siim"
    summary = write_siim(root, **SIIM_PARAMS)
    return root, summary


@pytest.fixture(scope="module")
def rsna_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("rsna") / "rsna"
    summary = write_rsna(root, **RSNA_PARAMS)
    return root, summary


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _dicom_checks(ds, rows: int):
    assert ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert ds.SOPClassUID == CR_IMAGE_STORAGE
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.Modality == "CR" and ds.BodyPartExamined == "CHEST"
    assert ds.ConversionType == "WSD" and ds.ViewPosition in ("PA", "AP")
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.SamplesPerPixel == 1
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
    assert (ds.Rows, ds.Columns) == (rows, rows)
    assert ds.LossyImageCompression == "01"
    assert len(ds.PixelSpacing) == 2 and ds.PatientSex in ("M", "F")


# --- SIIM -------------------------------------------------------------------------------


def test_siim_csv_header_and_rows(siim_root):
    root, summary = siim_root
    text = (root / "train-rle.csv").read_bytes()
    assert text.startswith(b"ImageId, EncodedPixels\n")
    lines = text.decode().splitlines()[1:]
    assert all(re.fullmatch(r"[\d.]+, (-1|\d+ \d+( \d+ \d+)*)", line) for line in lines)
    frame = pd.read_csv(root / "train-rle.csv")
    assert list(frame.columns) == ["ImageId", " EncodedPixels"]
    assert frame[" EncodedPixels"].str.startswith(" ").all()
    assert len(frame) == summary["n_images"] - summary["n_positive"] + summary["n_regions"]
    positives = frame.loc[frame[" EncodedPixels"].str.strip() != "-1", "ImageId"]
    assert positives.nunique() == summary["n_positive"] == 12  # 24 x 0.5 exactly
    assert (positives.value_counts() > 1).any(), "no multi-region image: multi-row RLE unused"


def test_siim_layout_and_dicom(siim_root):
    root, summary = siim_root
    assert sorted(p.name for p in root.iterdir()) == ["dicom-images-train", "train-rle.csv"]
    files = sorted((root / "dicom-images-train").rglob("*.dcm"))
    assert len(files) == summary["n_images"] == 24
    ids = set(pd.read_csv(root / "train-rle.csv")["ImageId"])
    assert {f.stem for f in files} == ids
    patients = []
    for f in files:
        study, series = f.parent.parent.name, f.parent.name
        assert f.relative_to(root).parts[0] == "dicom-images-train"
        assert len(f.relative_to(root).parts) == 4
        ds = pydicom.dcmread(f)
        _dicom_checks(ds, SIZE)
        assert SIIM_UID.match(f.stem) and ds.SOPInstanceUID == f.stem
        assert ds.StudyInstanceUID == study and ds.SeriesInstanceUID == series
        assert re.fullmatch(r"\d{3}Y", ds.PatientAge)
        assert str(ds.PatientName) == ds.PatientID
        patients.append(ds.PatientID)
    counts = pd.Series(patients).value_counts()
    assert counts.max() == 2 and (counts == 2).sum() == 3  # round(24 x 0.3) // 2 pairs
    assert summary["n_patients"] == len(counts) == 21


def test_siim_rle_and_pixels_match_phantoms(siim_root):
    root, _ = siim_root
    frame = pd.read_csv(root / "train-rle.csv")
    files = {f.stem: f for f in (root / "dicom-images-train").rglob("*.dcm")}
    n_shortcut = 0
    for rec in siim_records(**SIIM_PARAMS):
        rows = frame.loc[frame["ImageId"] == rec.image_id, " EncodedPixels"].tolist()
        assert rec.positive == (rows != [" -1"])
        if rec.positive:
            assert len(rows) == len(rec.phantom.regions) >= 1
            union = np.zeros((SIZE, SIZE), np.uint8)
            for row, region in zip(rows, rec.phantom.regions, strict=True):
                assert np.array_equal(rle.decode(row, (SIZE, SIZE)), region)
                rle.decode(row, (SIZE, SIZE), out=union)
            assert np.array_equal(union, rec.phantom.mask) and union.sum() > 50
        n_shortcut += rec.shortcut
        assert rec.shortcut <= rec.positive
        pixels = pydicom.dcmread(files[rec.image_id]).pixel_array
        assert pixels.dtype == np.uint8 and pixels.shape == (SIZE, SIZE)
        diff = np.abs(pixels.astype(int) - rec.phantom.image)
        assert diff.mean() < 3.0 and np.percentile(diff, 99) < 20
    assert n_shortcut == 6


def test_siim_stage2_header(tmp_path):
    write_siim(tmp_path / "s2", n_images=4, positive_rate=0.5, size=64, seed=1, stage=2)
    text = (tmp_path / "s2" / "train-rle.csv").read_text()
    assert text.startswith("ImageId,EncodedPixels\n")
    assert all(re.fullmatch(r"[\d.]+,(-1|[\d ]+)", line) for line in text.splitlines()[1:])


# --- RSNA -------------------------------------------------------------------------------


def test_rsna_csvs(rsna_root):
    root, summary = rsna_root
    labels_bytes = (root / "stage_2_train_labels.csv").read_bytes()
    classes_bytes = (root / "stage_2_detailed_class_info.csv").read_bytes()
    assert labels_bytes.startswith(b"patientId,x,y,width,height,Target\n")
    assert classes_bytes.startswith(b"patientId,class\n")
    label_lines = labels_bytes.decode().splitlines()[1:]
    class_lines = classes_bytes.decode().splitlines()[1:]
    assert len(label_lines) == len(class_lines)
    box = r"\d+\.\d"
    for lab, cls in zip(label_lines, class_lines, strict=True):
        pid = lab.split(",")[0]
        assert uuid.UUID(pid).version == 4 and str(uuid.UUID(pid)) == pid
        assert cls.split(",", 1)[0] == pid
        if lab.endswith(",1"):
            assert re.fullmatch(rf"{pid},{box},{box},{box},{box},1", lab)
            x, y, w, h = (float(t) for t in lab.split(",")[1:5])
            assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= SIZE and y + h <= SIZE
            assert cls == f"{pid},Lung Opacity"
        else:
            assert lab == f"{pid},,,,,0"
            assert cls in (f"{pid},Normal", f"{pid},No Lung Opacity / Not Normal")
    assert [line.split(",")[0] for line in label_lines] == sorted(
        line.split(",")[0] for line in label_lines
    )
    frame = pd.read_csv(root / "stage_2_train_labels.csv")
    info = pd.read_csv(root / "stage_2_detailed_class_info.csv")
    assert frame.groupby("patientId")["Target"].max().sum() == summary["n_positive"] == 12
    assert frame["Target"].sum() == summary["n_boxes"]
    assert (frame.patientId.value_counts() == 2).any()
    per_patient = info.drop_duplicates("patientId")["class"].value_counts()
    assert per_patient["No Lung Opacity / Not Normal"] == summary["n_not_normal"] == 4  # 12 x 0.3
    assert per_patient["Normal"] == 8


def test_rsna_layout_dicom_and_boxes(rsna_root):
    root, _ = rsna_root
    assert sorted(p.name for p in root.iterdir()) == [
        "stage_2_detailed_class_info.csv",
        "stage_2_train_images",
        "stage_2_train_labels.csv",
    ]
    frame = pd.read_csv(root / "stage_2_train_labels.csv")
    files = sorted((root / "stage_2_train_images").glob("*.dcm"))
    assert {f.stem for f in files} == set(frame.patientId)
    for rec in rsna_records(**RSNA_PARAMS):
        path = root / "stage_2_train_images" / f"{rec.patient_id}.dcm"
        ds = pydicom.dcmread(path)
        _dicom_checks(ds, SIZE)
        assert ds.PatientID == rec.patient_id and re.fullmatch(r"\d{1,3}", ds.PatientAge)
        diff = np.abs(ds.pixel_array.astype(int) - rec.phantom.image)
        assert diff.mean() < 3.0
        rows = frame[frame.patientId == rec.patient_id]
        if rec.positive:
            got = [tuple(int(v) for v in r) for r in rows[["x", "y", "width", "height"]].values]
            assert got == rec.phantom.boxes
        else:
            assert len(rows) == 1 and rows.Target.iloc[0] == 0 and rows.x.isna().all()


# --- phantoms ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_lesions_darker_or_brighter_than_lung(seed):
    ptx = draw_phantom(np.random.default_rng(seed), 192, "pneumothorax", shortcut=True)
    mask, lungs = ptx.mask.astype(bool), ptx.lungs
    assert mask.any() and not (mask & ~lungs).any()
    assert ptx.image[mask].mean() < ptx.image[lungs & ~mask].mean() - 15
    pna = draw_phantom(np.random.default_rng(seed), 192, "pneumonia", n_lesions=2)
    boxes = pna.box_mask.astype(bool)
    assert len(pna.boxes) == 2
    assert pna.image[boxes & pna.lungs].mean() > pna.image[pna.lungs & ~boxes].mean() + 15
    # the shortcut marker sits outside the lungs and the lesion
    x, y, w, h = ptx.marker
    assert not (lungs[y : y + h, x : x + w].any() or mask[y : y + h, x : x + w].any())
    assert ptx.image[y : y + h, x : x + w].max() > 220
    neg = draw_phantom(np.random.default_rng(seed), 192, None)
    assert neg.regions == [] and neg.boxes == [] and neg.marker is None
    assert neg.image.dtype == np.uint8 and neg.image.shape == (192, 192)


def _auroc(records) -> float:
    """Linear model on the intensity histogram inside the lungs: features that do not depend
    on where the lesion is (lesions move with pose and place from image to image)."""
    x, y = [], []
    for rec in records:
        values = rec.phantom.image[rec.phantom.lungs]
        x.append(np.histogram(values, bins=24, range=(0, 255))[0] / values.size)
        y.append(rec.positive)
    x, y = np.array(x), np.array(y)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(xtr, ytr)
    return roc_auc_score(yte, model.predict_proba(xte)[:, 1])


@pytest.mark.parametrize("records", [siim_records, rsna_records])
def test_learnable_by_a_linear_model(records):
    assert _auroc(records(n_images=80, positive_rate=0.5, size=128, seed=11)) >= 0.9


# --- DICOM writer, determinism, atomicity, dispatch --------------------------------------


def test_extra_header_fields(tmp_path):
    image = draw_phantom(np.random.default_rng(0), 64).image
    kw = dict(
        patient_id="p1",
        patient_name="Doe^Jane",
        study_uid="1.2.3",
        series_uid="1.2.3.4",
        sop_uid="1.2.3.4.5",
        age="51",
        sex="F",
        view="AP",
    )
    extra = {"PatientBirthDate": "19700101", "InstitutionName": "General Hospital"}
    write_cr_dicom(tmp_path / "a.dcm", image, **kw, extra=extra)
    ds = pydicom.dcmread(tmp_path / "a.dcm")
    assert ds.PatientBirthDate == "19700101" and ds.InstitutionName == "General Hospital"
    assert str(ds.PatientName) == "Doe^Jane" and ds.PatientAge == "51"
    assert np.abs(ds.pixel_array.astype(int) - image).mean() < 3.0
    assert [p.name for p in tmp_path.iterdir()] == ["a.dcm"]  # no temporary left behind
    write_cr_dicom(tmp_path / "b.dcm", image, **kw, extra=extra)
    assert (tmp_path / "a.dcm").read_bytes() == (tmp_path / "b.dcm").read_bytes()
    with pytest.raises(ValueError, match="NotAKeyword"):
        write_cr_dicom(tmp_path / "c.dcm", image, **kw, extra={"NotAKeyword": "x"})


@pytest.mark.parametrize("fmt", ["siim", "rsna"])
def test_same_seed_same_bytes(tmp_path, fmt):
    params = dict(n_images=5, positive_rate=0.6, size=64)
    synthesize(fmt, tmp_path / "a", params, seed=7)
    synthesize(fmt, tmp_path / "b", params, seed=7)
    synthesize(fmt, tmp_path / "c", params, seed=8)
    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert a == b and len(a) == 5 + (1 if fmt == "siim" else 2)
    assert set(a) != set(c)
    assert sorted(a.values()) != sorted(c.values())


def test_replaces_root_only_after_success(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    (root / "stale.txt").write_text("old")
    write_siim(root, n_images=2, positive_rate=0.5, size=64, seed=0)
    assert not (root / "stale.txt").exists() and (root / "train-rle.csv").exists()
    before = _tree(root)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer_module, "write_cr_dicom", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_siim(root, n_images=2, positive_rate=0.5, size=64, seed=1)
    assert _tree(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_synthesize_dispatch_and_errors(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="saliency_audit.synth"):
        summary = synthesize(
            "rsna", tmp_path / "r", {"n_images": 3, "positive_rate": 1.0, "size": 64}, seed=0
        )
    assert summary["n_images"] == 3 and summary["n_positive"] == 3 and summary["n_boxes"] >= 3
    assert summary["seconds"] >= 0
    assert any("3/3 images" in r.getMessage() for r in caplog.records)
    with pytest.raises(InputError, match="'not_normal_rate'"):
        synthesize(
            "siim",
            tmp_path / "s",
            {"n_images": 2, "positive_rate": 0.5, "not_normal_rate": 0.1},
            seed=0,
        )
    with pytest.raises(InputError, match="'positive_rate'"):
        synthesize("siim", tmp_path / "s", {"n_images": 2}, seed=0)
    with pytest.raises(InputError, match="positive_rate=1.5"):
        synthesize("rsna", tmp_path / "s", {"n_images": 2, "positive_rate": 1.5}, seed=0)
    with pytest.raises(InputError, match="'chexpert'"):
        synthesize("chexpert", tmp_path / "s", {}, seed=0)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("size", [64, 1024])
def test_marker_outside_lungs_at_any_size(size):
    for seed in range(3):
        p = draw_phantom(np.random.default_rng(seed), size, "pneumonia", shortcut=True)
        x, y, w, h = p.marker
        assert x >= 0 and y >= 0 and x + w <= size and y + h <= size
        assert not p.lungs[y : y + h, x : x + w].any()
        assert not p.box_mask[y : y + h, x : x + w].any()
