"""Known-answer tests for saliency_audit.dicom.read_image (all supported transfer syntaxes)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pydicom import uid
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate

import saliency_audit.dicom as dicom_module
from saliency_audit.dicom import DicomImage, read_image
from saliency_audit.errors import DicomError

try:
    from dicom_factory import make_dicom
except ImportError:  # tests/ imported as a package
    from tests.dicom_factory import make_dicom

LOSSLESS = [
    uid.ImplicitVRLittleEndian,
    uid.ExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
    uid.DeflatedExplicitVRLittleEndian,
    uid.RLELossless,
    uid.JPEG2000Lossless,
    uid.JPEGLossless,
    uid.JPEGLosslessSV1,
]
LOSSY_8BIT = [uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEG2000]
DEPTHS = [(8, False), (12, False), (16, False), (12, True), (16, True)]

PHI = {
    "PatientName": "Doe^Jane^Planted",
    "PatientID": "SECRET-ID-4711",
    "PatientBirthDate": "19450102",
    "InstitutionName": "Planted General Hospital",
    "AccessionNumber": "ACC-998877",
}


def bundled(name: str) -> str:
    """Path of a test file that ships inside the installed pydicom (never downloads)."""
    local = Path(pydicom.data.__file__).parent / "test_files" / name
    assert local.is_file(), f"{name} is not bundled with pydicom"
    return get_testdata_file(name)


def minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return ((x - x.min()) / (x.max() - x.min())).astype(np.float32)


def random_image(bits: int, signed: bool, shape=(33, 46), seed=0) -> np.ndarray:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    img = np.random.default_rng(seed).integers(lo, hi + 1, size=shape)
    img.flat[:2] = lo, hi  # the full range is present
    return img


def gradient8(shape=(37, 53)) -> np.ndarray:
    rows, cols = np.indices(shape)
    return (rows * 3 + cols * 2).clip(0, 255).astype(np.uint8)


def one_row(values, rows=3) -> np.ndarray:
    return np.tile(np.asarray(values), (rows, 1))


# ----------------------------------------------------------------------------- transfer syntaxes


@pytest.mark.parametrize("bits,signed", DEPTHS, ids=[f"{b}{'s' if s else 'u'}" for b, s in DEPTHS])
@pytest.mark.parametrize("ts", LOSSLESS, ids=lambda t: t.name)
def test_lossless_syntax_reads_exactly(tmp_path, ts, bits, signed):
    img = random_image(bits, signed)
    path = make_dicom(tmp_path / "x.dcm", img, transfer_syntax=ts, bits_stored=bits, signed=signed)
    out = read_image(path)
    assert isinstance(out, DicomImage)
    assert out.pixels.dtype == np.float32 and out.pixels.shape == (33, 46)
    assert_array_equal(out.pixels, minmax(img))
    assert (out.rows, out.cols, out.bits_stored) == (33, 46, bits)
    assert out.transfer_syntax == ts
    assert out.photometric == "MONOCHROME2" and out.modality == "CR"


@pytest.mark.parametrize("ts", LOSSY_8BIT, ids=lambda t: t.name)
def test_lossy_8bit_syntax_reads_close_and_keeps_odd_shape(tmp_path, ts):
    img = gradient8((37, 53))
    out = read_image(make_dicom(tmp_path / "x.dcm", img, transfer_syntax=ts))
    assert out.pixels.shape == (37, 53) and out.pixels.dtype == np.float32
    assert out.pixels.min() >= 0.0 and out.pixels.max() <= 1.0
    assert np.abs(out.pixels - minmax(img)).max() < 0.03
    assert out.transfer_syntax == ts


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_implicit.dcm",
        "MR_small_expb.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
    ],
)
def test_bundled_mr_small_variants_equal_mr_small(name):
    reference = read_image(bundled("MR_small.dcm"), allowed_modalities=None)
    out = read_image(bundled(name), allowed_modalities=None)
    assert_array_equal(out.pixels, reference.pixels)
    assert out.modality == "MR"


def test_bundled_mr_small_window_follows_the_standard_formula():
    path = bundled("MR_small.dcm")  # signed 16-bit, WindowCenter 600, WindowWidth 1600
    stored = pydicom.dcmread(path).pixel_array.astype(np.float64)
    expected = np.clip((stored - 599.5) / 1599.0 + 0.5, 0.0, 1.0)
    out = read_image(path, allowed_modalities=None)
    assert_allclose(out.pixels, expected, atol=1e-6)
    assert out.bits_stored == 16 and out.transfer_syntax == uid.ExplicitVRLittleEndian


@pytest.mark.parametrize(
    "name,ts",
    [
        ("JPGExtended.dcm", uid.JPEGExtended12Bit),  # 12-bit lossy JPEG
        ("JPEG2000.dcm", uid.JPEG2000),  # lossy JPEG 2000, 1024 x 256
        ("image_dfl.dcm", uid.DeflatedExplicitVRLittleEndian),
    ],
)
def test_bundled_compressed_files_match_pydicom(name, ts):
    path = bundled(name)
    stored = pydicom.dcmread(path).pixel_array
    out = read_image(path, allowed_modalities=None)
    assert out.transfer_syntax == ts
    assert out.pixels.shape == stored.shape
    assert_array_equal(out.pixels, minmax(stored))


# ----------------------------------------------------------------------------- grayscale pipeline


def test_linear_window_clips_as_the_standard_says(tmp_path):
    # LINEAR: x <= c - 0.5 - (w-1)/2 -> 0, x > c - 0.5 + (w-1)/2 -> 1, else (x-(c-0.5))/(w-1)+0.5
    x = [0, 77, 78, 100, 127, 128, 177, 178, 255]
    img = one_row(x).astype(np.uint8)
    path = make_dicom(
        tmp_path / "w.dcm", img, transfer_syntax=uid.ExplicitVRLittleEndian, window=(128, 101)
    )
    expected = [0.0, 0.0, 0.005, 0.225, 0.495, 0.505, 0.995, 1.0, 1.0]
    assert_allclose(read_image(path).pixels, one_row(expected), atol=1e-6)


def test_multivalued_window_uses_the_first(tmp_path):
    img = one_row([0, 78, 128, 178]).astype(np.uint8)
    path = make_dicom(
        tmp_path / "w.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        window=([128, 20], [101, 5]),
    )
    assert_allclose(read_image(path).pixels, one_row([0.0, 0.005, 0.505, 1.0]), atol=1e-6)


def test_linear_exact_and_sigmoid_windows(tmp_path):
    img = one_row([70, 75, 80, 100, 120, 125, 130]).astype(np.uint8)
    path = make_dicom(
        tmp_path / "e.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        window=(100, 50, "LINEAR_EXACT"),
    )
    assert_allclose(read_image(path).pixels, one_row([0, 0, 0.1, 0.5, 0.9, 1.0, 1.0]), atol=1e-6)

    img = one_row([128, 144, 112]).astype(np.uint8)
    path = make_dicom(
        tmp_path / "s.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        window=(128, 64, "SIGMOID"),
    )
    expected = [0.5, 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))]
    assert_allclose(read_image(path).pixels, one_row(expected), atol=1e-6)


def test_window_applies_after_rescale(tmp_path):
    # CT-like: signed 16-bit stored values, HU = stored - 1024, window 40/400 in HU
    stored = np.array([-2000, 0, 824, 1024, 1064, 1224, 3000])
    hu = stored - 1024.0
    expected = np.clip((hu - 39.5) / 399.0 + 0.5, 0.0, 1.0)
    path = make_dicom(
        tmp_path / "ct.dcm",
        one_row(stored),
        transfer_syntax=uid.RLELossless,
        bits_stored=16,
        signed=True,
        rescale=(1.0, -1024.0),
        window=(40, 400),
    )
    assert_allclose(read_image(path).pixels, one_row(expected), atol=1e-6)


def test_voi_lut_sequence_maps_its_nominal_range_and_wins_over_a_window(tmp_path):
    img = one_row(np.arange(10)).astype(np.uint8)
    lut = (2, 8, np.array([0, 51, 102, 153, 204, 255]))  # first mapped value 2, 8 bits
    path = make_dicom(
        tmp_path / "v.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        voi_lut=lut,
        window=(5, 2),
    )
    expected = [0, 0, 0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0]
    assert_allclose(read_image(path).pixels, one_row(expected), atol=1e-6)


def test_voi_lut_12bit_entries_on_16bit_data(tmp_path):
    img = one_row([0, 1000, 1001, 1002, 1003, 5000]).astype(np.uint16)
    lut = (1000, 12, np.array([0, 1365, 2730, 4095]))
    path = make_dicom(
        tmp_path / "v.dcm",
        img,
        transfer_syntax=uid.ExplicitVRBigEndian,
        bits_stored=16,
        voi_lut=lut,
    )
    expected = [0, 0, 1365 / 4095, 2730 / 4095, 1.0, 1.0]
    assert_allclose(read_image(path).pixels, one_row(expected), atol=1e-6)


def test_voi_lut_whose_descriptor_overstates_its_bits_uses_the_entries_range(tmp_path, caplog):
    """A vendor quirk: a VOI LUT descriptor of 16 bits over 12-bit entries. Read as declared,
    the image would span 0..0.06 (nearly black); the entries' own 12 bits make it 0..1."""
    img = one_row([0, 1, 2, 3]).astype(np.uint16)
    quirk = (0, 16, np.array([0, 1365, 2730, 4095]))
    path = make_dicom(
        tmp_path / "q.dcm", img, transfer_syntax=uid.ExplicitVRLittleEndian, voi_lut=quirk
    )
    with caplog.at_level(logging.WARNING):
        out = read_image(path)
    assert_allclose(out.pixels, one_row([0, 1365 / 4095, 2730 / 4095, 1.0]), atol=1e-6)
    assert str(path) in caplog.text and "declares 16 bits" in caplog.text
    # a table that merely stops short of white (15 of 16 bits) is taken as written
    short = (0, 16, np.array([0, 10000, 20000, 30000]))
    path = make_dicom(
        tmp_path / "s.dcm", img, transfer_syntax=uid.ExplicitVRLittleEndian, voi_lut=short
    )
    assert_allclose(read_image(path).pixels, one_row([0, 10000, 20000, 30000]) / 65535, atol=1e-6)


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_pixel_padding_stays_out_of_the_scaling_and_comes_out_black(tmp_path, photometric):
    """Padding (0, the collimated border) would be the image minimum; without it the image's
    own range 100..300 spans 0..1, and the padding pixels are black (0) in either polarity."""
    img = one_row([0, 100, 200, 300, 0]).astype(np.uint16)
    path = make_dicom(
        tmp_path / "p.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        bits_stored=12,
        photometric=photometric,
        extra={"PixelPaddingValue": 0},
    )
    inner = np.array([0.0, 0.5, 1.0])
    inner = inner if photometric == "MONOCHROME2" else 1.0 - inner
    assert_allclose(read_image(path).pixels, one_row([0.0, *inner, 0.0]), atol=1e-6)
    # a padding range (value .. range limit) and a modality LUT sequence (table path)
    img = one_row([4095, 4090, 100, 200, 300]).astype(np.uint16)
    extra = {"PixelPaddingValue": 4095, "PixelPaddingRangeLimit": 4090}
    path = make_dicom(
        tmp_path / "r.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        bits_stored=12,
        extra=extra,
    )
    assert_allclose(read_image(path).pixels, one_row([0.0, 0.0, 0.0, 0.5, 1.0]), atol=1e-6)


def test_presentation_lut_shape_inverse_is_honoured(tmp_path):
    img = one_row([10, 20, 30]).astype(np.uint8)
    plain = [0.0, 0.5, 1.0]
    for photometric, shape, expected in [
        ("MONOCHROME2", "IDENTITY", plain),
        ("MONOCHROME2", "INVERSE", [1.0, 0.5, 0.0]),
        ("MONOCHROME1", "INVERSE", [1.0, 0.5, 0.0]),  # the standard's MONOCHROME1: one inversion
    ]:
        path = make_dicom(
            tmp_path / f"{photometric}_{shape}.dcm",
            img,
            transfer_syntax=uid.ExplicitVRLittleEndian,
            photometric=photometric,
            extra={"PresentationLUTShape": shape},
        )
        assert_allclose(read_image(path).pixels, one_row(expected), atol=1e-7), (photometric, shape)


def test_invalid_window_falls_back_to_minmax(tmp_path, caplog):
    img = one_row([10, 20, 30]).astype(np.uint8)
    path = make_dicom(
        tmp_path / "w.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        window=(20, 0),
        extra=PHI,
    )
    with caplog.at_level(logging.WARNING):
        out = read_image(path)
    assert_allclose(out.pixels, one_row([0.0, 0.5, 1.0]), atol=1e-7)
    assert str(path) in caplog.text
    assert not any(value in caplog.text for value in PHI.values())


@pytest.mark.parametrize("window", [None, (2000, 1500)])
@pytest.mark.parametrize("ts", [uid.ExplicitVRLittleEndian, uid.JPEG2000Lossless])
def test_monochrome1_is_the_inverse_of_monochrome2(tmp_path, ts, window):
    img = random_image(12, False, shape=(35, 32), seed=3)
    kw = dict(transfer_syntax=ts, bits_stored=12, window=window)
    mono2 = read_image(make_dicom(tmp_path / "m2.dcm", img, photometric="MONOCHROME2", **kw))
    mono1 = read_image(make_dicom(tmp_path / "m1.dcm", img, photometric="MONOCHROME1", **kw))
    assert mono1.photometric == "MONOCHROME1"
    assert_array_equal(mono1.pixels, np.float32(1.0) - mono2.pixels)


def test_12bit_and_signed_16bit_scale_to_their_own_range(tmp_path):
    img12 = np.array([[100, 1550], [3000, 825]])
    out = read_image(
        make_dicom(tmp_path / "a.dcm", img12, transfer_syntax=uid.JPEGLosslessSV1, bits_stored=12)
    )
    assert_array_equal(out.pixels, np.array([[0, 0.5], [1, 0.25]], dtype=np.float32))
    assert out.bits_stored == 12

    img16 = np.array([[-1000, 0], [1000, 3000]])
    out = read_image(
        make_dicom(
            tmp_path / "b.dcm",
            img16,
            transfer_syntax=uid.ExplicitVRBigEndian,
            bits_stored=16,
            signed=True,
        )
    )
    assert_array_equal(out.pixels, np.array([[0, 0.25], [0.5, 1]], dtype=np.float32))


def test_negative_rescale_slope_reverses_minmax(tmp_path):
    img = random_image(16, False, shape=(9, 11), seed=5)
    kw = dict(transfer_syntax=uid.ExplicitVRLittleEndian, bits_stored=16)
    plain = read_image(make_dicom(tmp_path / "p.dcm", img, rescale=(2.0, -7.0), **kw))
    flipped = read_image(make_dicom(tmp_path / "f.dcm", img, rescale=(-2.0, 7.0), **kw))
    assert_array_equal(plain.pixels, minmax(img))
    assert_array_equal(flipped.pixels, minmax(-img))


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_constant_image_is_all_zeros(tmp_path, photometric):
    img = np.full((5, 7), 42, dtype=np.uint16)
    path = make_dicom(
        tmp_path / "c.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        bits_stored=12,
        photometric=photometric,
    )
    out = read_image(path)
    assert_array_equal(out.pixels, np.zeros((5, 7), dtype=np.float32))


def test_modality_filter_and_patient_id(tmp_path):
    img = gradient8((6, 9))
    mr = make_dicom(
        tmp_path / "mr.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        modality="MR",
        extra=PHI,
    )
    with pytest.raises(DicomError, match="modality 'MR'") as info:
        read_image(mr)
    assert info.value.path == str(mr)
    assert "config key convert.allowed_modalities" in str(info.value)  # what lets it in
    out = read_image(mr, allowed_modalities=None)
    assert out.modality == "MR" and out.patient_id == PHI["PatientID"]
    assert PHI["PatientID"] not in repr(out)
    assert read_image(mr, allowed_modalities=frozenset({"MR"})).modality == "MR"

    none = make_dicom(
        tmp_path / "none.dcm", img, transfer_syntax=uid.ExplicitVRLittleEndian, modality=None
    )
    assert read_image(none).modality == ""
    dx = make_dicom(
        tmp_path / "dx.dcm",
        img,
        transfer_syntax=uid.ExplicitVRLittleEndian,
        modality="DX",
        extra={"PatientID": None},
    )
    assert read_image(dx).patient_id == ""


# ----------------------------------------------------------------------------- errors


def _planted(tmp_path, name="x.dcm", pixels=None, **kw) -> Path:
    kw.setdefault("transfer_syntax", uid.ExplicitVRLittleEndian)
    pixels = gradient8((8, 10)) if pixels is None else pixels
    extra = {**PHI, **kw.pop("extra", {})}
    return make_dicom(tmp_path / name, pixels, extra=extra, **kw)


def _cut(path: Path, keep: int) -> Path:
    data = path.read_bytes()
    out = path.with_name(f"cut{keep}_{path.name}")
    out.write_bytes(data[:keep])
    return out


def _bad_jpeg(tmp_path) -> Path:
    path = _planted(tmp_path, "bad.dcm", transfer_syntax=uid.JPEGBaseline8Bit)
    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([b"\xff\xd8" + bytes(range(256)) * 4 + b"\xff\xd9"])
    ds.save_as(path, enforce_file_format=True)
    return path


def _unknown_syntax(tmp_path) -> Path:
    path = _planted(tmp_path, "mpeg.dcm", transfer_syntax=uid.JPEGBaseline8Bit)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = uid.MPEG2MPML
    ds.save_as(path, enforce_file_format=True)
    return path


ERROR_CASES = {
    "truncated-pixel-data": (
        lambda t: _cut(_planted(t, pixels=gradient8((40, 50))), -500),
        "not a readable DICOM file: the file is truncated",
    ),
    "truncated-header": (lambda t: _cut(_planted(t), 100), "not a readable DICOM file"),
    "truncated-rle": (
        lambda t: _cut(
            _planted(t, pixels=gradient8((40, 50)), transfer_syntax=uid.RLELossless), -300
        ),
        "not a readable DICOM file",
    ),
    "no-pixel-data": (
        lambda t: make_dicom(
            t / "np.dcm", None, transfer_syntax=uid.ExplicitVRLittleEndian, extra=PHI
        ),
        "has no pixel data",
    ),
    "multi-frame": (
        lambda t: _planted(t, pixels=np.zeros((3, 8, 10), np.uint8)),
        "3-D volume/multi-frame",
    ),
    "rgb": (
        lambda t: _planted(t, pixels=np.zeros((8, 10, 3), np.uint8), photometric="RGB"),
        "expected a grayscale image, got RGB",
    ),
    "wrong-modality": (lambda t: _planted(t, modality="CT"), "modality 'CT' is not one of"),
    "undecodable-jpeg": (_bad_jpeg, "could not be decoded .*JPEG Baseline"),
    "no-decoder": (_unknown_syntax, "cannot decode transfer syntax 'MPEG2"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_name_the_file_and_never_phi(tmp_path, case):
    build, pattern = ERROR_CASES[case]
    path = build(tmp_path)
    with pytest.raises(DicomError, match=pattern) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(str(path)) and info.value.path == str(path)
    assert not any(value in message for value in PHI.values())
    assert not any(value.split("^")[0] in message for value in PHI.values())


def test_every_truncation_point_raises_a_dicom_error(tmp_path):
    path = _planted(tmp_path, pixels=gradient8((6, 8)))
    data = path.read_bytes()
    cut = tmp_path / "cut.dcm"
    for keep in range(0, len(data) - 1, 3):
        cut.write_bytes(data[:keep])
        with pytest.raises(DicomError) as info:
            read_image(cut)
        assert info.value.path == str(cut)
        assert "not a readable DICOM file" in info.value.reason or (
            info.value.reason == "has no pixel data"
        ), (keep, info.value.reason)
        assert PHI["PatientName"] not in str(info.value)


def test_text_file_and_missing_file(tmp_path):
    text = tmp_path / "notes.dcm"
    text.write_text("PatientName: Doe^Jane^Planted\nthis is not DICOM\n")
    with pytest.raises(DicomError, match="not a readable DICOM file") as info:
        read_image(text)
    assert str(text) in str(info.value) and "Doe" not in str(info.value)
    with pytest.raises(DicomError, match="does not exist"):
        read_image(tmp_path / "missing.dcm")


@pytest.mark.parametrize(
    "name,pattern",
    [
        ("MR_truncated.dcm", "not a readable DICOM file: the file is truncated"),
        ("SC_rgb_rle.dcm", "expected a grayscale image, got RGB"),
        ("SC_rgb_jpeg_dcmtk.dcm", "expected a grayscale image, got YBR_FULL"),
        ("JPEG-lossy.dcm", "could not be decoded .*JPEG Extended"),  # a known-broken stream
    ],
)
def test_bundled_bad_files(name, pattern):
    path = bundled(name)
    with pytest.raises(DicomError, match=pattern) as info:
        read_image(path, allowed_modalities=None)
    assert str(info.value).startswith(str(path))


def test_missing_plugin_names_the_syntax_and_the_package(monkeypatch):
    class NoPlugin:
        is_available = False
        available_plugins = ()

    monkeypatch.setattr(dicom_module, "get_decoder", lambda ts: NoPlugin())
    path = bundled("MR_small_jpeg_ls_lossless.dcm")
    with pytest.raises(DicomError) as info:
        read_image(path, allowed_modalities=None)
    reason = info.value.reason
    assert "JPEG-LS Lossless" in reason and uid.JPEGLSLossless in reason
    assert "pylibjpeg-libjpeg" in reason


def test_library_messages_are_scrubbed_of_identifying_values():
    ds = pydicom.Dataset()
    ds.PatientName = PHI["PatientName"]
    ds.PatientID = PHI["PatientID"]
    ds.OtherPatientIDs = ["OTHER-1", "OTHER-2"]
    message = f"decoder said {PHI['PatientName']} / Planted / {PHI['PatientID']} / OTHER-2 / ok"
    scrubbed = dicom_module._scrub(message, ds)
    assert scrubbed == "decoder said <redacted> / <redacted> / <redacted> / <redacted> / ok"
