"""Label CSV readers on the real layouts (empty .dcm placeholders: nothing opens them)."""

import pytest

from saliency_audit.errors import AnnotationError, InputError
from saliency_audit.formats import read_dataset
from saliency_audit.formats.rsna import read_rsna
from saliency_audit.formats.siim import read_siim


def siim_layout(tmp_path, csv_text, ids=("1.2.3", "1.2.4", "1.2.5")):
    images = tmp_path / "dicom-images-train"
    for i, image_id in enumerate(ids):
        folder = images / f"study{i}" / f"series{i}"
        folder.mkdir(parents=True)
        (folder / f"{image_id}.dcm").touch()
    labels = tmp_path / "train-rle.csv"
    labels.write_text(csv_text)
    return images, labels


def test_siim_regions_grouped_and_labelled(tmp_path):
    images, labels = siim_layout(
        tmp_path, "ImageId, EncodedPixels\n1.2.3, -1\n1.2.4, 5 2 3 1\n1.2.4, 40 2\n"
    )
    recs = read_siim(images, labels)
    assert [r.image_id for r in recs] == ["1.2.3", "1.2.4"]
    assert [r.label for r in recs] == [0, 1]
    assert [(r.encoded, r.line) for r in recs[1].regions] == [(" 5 2 3 1", 3), (" 40 2", 4)]
    assert recs[1].path.name == "1.2.4.dcm"


def test_siim_stage2_header_without_space(tmp_path):
    images, labels = siim_layout(tmp_path, "ImageId,EncodedPixels\n1.2.3,-1\n1.2.4,5 2\n")
    assert [r.label for r in read_dataset("siim", tmp_path)] == [0, 1]


@pytest.mark.parametrize(
    "csv_text, message",
    [
        ("ImageId, EncodedPixels\n1.2.3, -1\n9.9.9, -1\n", r"row 3: image '9\.9\.9' has no DICOM"),
        ("ImageId, EncodedPixels\n1.2.3, -1\n1.2.3, 4 4\n", r"row 3: .*conflicting labels"),
        ("ImageId, EncodedPixels\n1.2.3, 4 4\n1.2.3, -1\n", r"row 3: .*conflicting labels"),
        ("Image, Pixels\n1.2.3, -1\n", "does not match the expected"),
    ],
)
def test_siim_bad_rows_are_named(tmp_path, csv_text, message):
    images, labels = siim_layout(tmp_path, csv_text)
    with pytest.raises(InputError, match=message) as info:
        read_siim(images, labels)
    assert "train-rle.csv" in str(info.value)


def rsna_layout(tmp_path, labels_text, classes_text=None, ids=("a1", "b2", "c3")):
    images = tmp_path / "stage_2_train_images"
    images.mkdir()
    for image_id in ids:
        (images / f"{image_id}.dcm").touch()
    labels = tmp_path / "stage_2_train_labels.csv"
    labels.write_text(labels_text)
    info = None
    if classes_text is not None:
        info = tmp_path / "stage_2_detailed_class_info.csv"
        info.write_text(classes_text)
    return images, labels, info


HEADER = "patientId,x,y,width,height,Target\n"


def test_rsna_boxes_and_class_filter(tmp_path):
    images, labels, info = rsna_layout(
        tmp_path,
        HEADER + "a1,,,,,0\nb2,264.0,152.0,213.0,379.0,1\nb2,562.0,152.0,256.0,453.0,1\nc3,,,,,0\n",
        "patientId,class\na1,Normal\nb2,Lung Opacity\nb2,Lung Opacity\n"
        "c3,No Lung Opacity / Not Normal\n",
    )
    recs = read_rsna(images, labels, info, ["Lung Opacity", "Normal"])
    assert [(r.image_id, r.label) for r in recs] == [("a1", 0), ("b2", 1)]
    assert [(b.x, b.y, b.width, b.height, b.line) for b in recs[1].boxes] == [
        (264.0, 152.0, 213.0, 379.0, 3),
        (562.0, 152.0, 256.0, 453.0, 4),
    ]
    assert len(read_rsna(images, labels)) == 3  # no class filter


@pytest.mark.parametrize(
    "rows, message",
    [
        ("a1,-5.0,10.0,20.0,20.0,1\n", "row 2: box corner .* is negative"),
        ("a1,nan,10.0,20.0,20.0,1\n", r"row 2: x='nan' is not a finite number"),
        ("a1,,10.0,20.0,20.0,1\n", r"row 2: x='' is not a number"),
        ("a1,1.0,10.0,0.0,20.0,1\n", "row 2: box size .* is not positive"),
        ("a1,,,,,0\na1,1.0,1.0,2.0,2.0,1\n", "row 3: .*conflicting labels"),
        ("a1,,,,,2\n", "row 2: Target='2'"),
        ("zz,,,,,0\n", "row 2: patientId 'zz' has no DICOM file"),
    ],
)
def test_rsna_bad_rows_are_named(tmp_path, rows, message):
    images, labels, _ = rsna_layout(tmp_path, HEADER + rows)
    with pytest.raises(InputError, match=message) as info:
        read_rsna(images, labels)
    assert "stage_2_train_labels.csv" in str(info.value)
    if "box" in message or "number" in message:
        assert isinstance(info.value, AnnotationError)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(InputError, match="label CSV not found"):
        read_dataset("siim", tmp_path)
    with pytest.raises(InputError, match="unknown dataset format"):
        read_dataset("png", tmp_path)


def test_siim_images_outside_the_train_folder_are_found_or_counted(tmp_path, caplog):
    """Kaggle's SIIM download keeps some labelled ids under dicom-images-test: found anywhere
    under the root; ids with no file at all stop the conversion in one error that counts them,
    or are skipped with missing_images: skip."""
    images, labels = siim_layout(tmp_path, "ImageId, EncodedPixels\n")
    test_dir = tmp_path / "dicom-images-test" / "study9" / "series9"
    test_dir.mkdir(parents=True)
    (test_dir / "7.7.7.dcm").touch()
    labels.write_text("ImageId, EncodedPixels\n1.2.3, -1\n7.7.7, 5 2\n")
    with caplog.at_level("INFO"):
        recs = read_dataset("siim", tmp_path)
    assert [(r.image_id, r.label) for r in recs] == [("1.2.3", 0), ("7.7.7", 1)]
    assert recs[1].path == test_dir / "7.7.7.dcm"
    assert "1 of 2 labelled images are not in" in caplog.text
    labels.write_text(
        "ImageId, EncodedPixels\n1.2.3, -1\n8.8.1, -1\n8.8.2, -1\n7.7.7, 5 2\n8.8.3, 1 1\n"
    )
    with pytest.raises(InputError) as info:
        read_dataset("siim", tmp_path)
    text = str(info.value)
    assert "train-rle.csv: 3 of 5 labelled images have no DICOM file under" in text
    assert "'8.8.1' (row 3), '8.8.2' (row 4), '8.8.3' (row 6)" in text
    assert "missing_images: skip" in text
    caplog.clear()
    with caplog.at_level("WARNING"):
        recs = read_dataset("siim", tmp_path, options={"options": {"missing_images": "skip"}})
    assert [r.image_id for r in recs] == ["1.2.3", "7.7.7"]
    assert "3 of 5 labelled images have no DICOM file" in caplog.text and "skipped" in caplog.text
    with pytest.raises(InputError, match="missing_images: 'maybe'"):
        read_dataset("siim", tmp_path, options={"options": {"missing_images": "maybe"}})


def test_rsna_without_class_info_keeps_every_patient_and_says_so(tmp_path, caplog):
    rows = HEADER + "a1,,,,,0\nb2,1.0,1.0,2.0,2.0,1\nc3,,,,,0\n"
    rsna_layout(tmp_path, rows)  # no stage_2_detailed_class_info.csv
    for layout in (None, {"class_info": None}):  # the file absent, or class_info: null
        caplog.clear()
        with caplog.at_level("INFO"):
            recs = read_dataset("rsna", tmp_path, layout)
        assert [r.image_id for r in recs] == ["a1", "b2", "c3"]
        assert "no class-info CSV: all 3 patients" in caplog.text
    with pytest.raises(InputError, match="label CSV not found"):  # a named file must exist
        read_dataset("rsna", tmp_path, {"class_info": "classes.csv"})
    (tmp_path / "stage_2_detailed_class_info.csv").write_text(
        "patientId,class\na1,Normal\nb2,Lung Opacity\nc3,No Lung Opacity / Not Normal\n"
    )
    caplog.clear()
    with caplog.at_level("INFO"):
        recs = read_dataset("rsna", tmp_path)
    assert [r.image_id for r in recs] == ["a1", "b2"]
    assert "kept 2 of 3 patients, dropped 1" in caplog.text
