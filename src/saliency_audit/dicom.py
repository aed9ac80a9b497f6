"""Read one DICOM file into a 2-D grayscale image in [0, 1], ready for display or resizing.

Pipeline (DICOM PS3.3 C.11 grayscale pipeline, without the presentation state):

1. ``pydicom.dcmread(force=False)``; truncated or non-DICOM files are rejected.
2. Checks: pixel data present, single frame, one sample per pixel (MONOCHROME1/2), modality.
3. Decode with pydicom's pixel plugins (Pillow for 8-bit JPEG, which is fastest; pylibjpeg-libjpeg,
   -openjpeg, -rle, or pydicom's own decoders otherwise).
4. Modality LUT (Rescale Slope/Intercept or Modality LUT Sequence).
5. VOI: the first VOI LUT Sequence item, else the first Window Center/Width (LINEAR, LINEAR_EXACT or
   SIGMOID), mapped from its nominal output range to [0, 1]; without VOI, min-max scaling. A VOI
   LUT whose descriptor declares 4 or more bits more than its entries use (a vendor quirk) is
   scaled by the bits the entries use. Pixel Padding Value pixels (up to Pixel Padding Range
   Limit) take no part in min-max scaling and come out black.
6. MONOCHROME1, or Presentation LUT Shape INVERSE, is inverted (``1 - x``) so that 0 is always
   black (for MONOCHROME1, INVERSE is how the standard spells that same meaning: one inversion).

Steps 4 to 6 act on every possible stored value at once (a lookup table of 256 or 65,536 entries)
and the image is then one table look-up, which keeps the common 8-bit case cheap.

Privacy: error messages and log records name the file and the problem only. The raw PatientID is
kept in :class:`DicomImage` (excluded from its ``repr``) solely so a caller can hash it with
:func:`saliency_audit.privacy.hash_patient_id`; it must never be written anywhere.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pydicom
from pydicom import uid as _uid
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import get_decoder

from saliency_audit.errors import DicomError
from saliency_audit.privacy import IDENTIFYING_KEYWORDS

__all__ = ["DEFAULT_MODALITIES", "DicomImage", "read_image"]

log = logging.getLogger(__name__)

#: Projection radiography modalities (plus OT, "other", used by secondary captures such as RSNA).
DEFAULT_MODALITIES: frozenset[str] = frozenset({"CR", "DX", "DR", "RG", "OT"})

_GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")
_UNDEFINED_LENGTH = 0xFFFFFFFF
_PIXEL_DATA_TAG = 0x7FE00010

_LIBJPEG = "pylibjpeg and pylibjpeg-libjpeg"
_OPENJPEG = "pylibjpeg and pylibjpeg-openjpeg"
#: Which package(s) a pixel-data plugin for a compressed transfer syntax comes from.
_PLUGIN_HINT: dict[str, str] = {
    _uid.JPEGBaseline8Bit: f"Pillow, or {_LIBJPEG}",
    _uid.JPEGExtended12Bit: f"{_LIBJPEG} (Pillow decodes 8-bit only)",
    _uid.JPEGLossless: _LIBJPEG,
    _uid.JPEGLosslessSV1: _LIBJPEG,
    _uid.JPEGLSLossless: f"{_LIBJPEG}, or pyjpegls",
    _uid.JPEGLSNearLossless: f"{_LIBJPEG}, or pyjpegls",
    _uid.JPEG2000Lossless: f"{_OPENJPEG} (or Pillow built with OpenJPEG)",
    _uid.JPEG2000: f"{_OPENJPEG} (or Pillow built with OpenJPEG)",
    _uid.HTJ2KLossless: f"{_OPENJPEG}>=2.2",
    _uid.HTJ2KLosslessRPCL: f"{_OPENJPEG}>=2.2",
    _uid.HTJ2K: f"{_OPENJPEG}>=2.2",
    _uid.RLELossless: "numpy (pydicom's own RLE decoder), or pylibjpeg and pylibjpeg-rle",
    _uid.DeflatedExplicitVRLittleEndian: "numpy",
}
_PILLOW_FIRST = (_uid.JPEGBaseline8Bit, _uid.JPEGExtended12Bit)


@dataclass(frozen=True, eq=False)
class DicomImage:
    """One decoded grayscale DICOM image.

    ``pixels`` is ``float32 (rows, cols)`` in [0, 1] in display orientation (0 = black,
    1 = white) after the modality LUT, VOI and MONOCHROME1 inversion. ``bits_stored`` is the
    header's Bits Stored, ``transfer_syntax`` the UID string, ``modality`` the header's Modality
    ('' when absent). ``patient_id`` is the raw PatientID ('' when absent): hash it with
    :func:`saliency_audit.privacy.hash_patient_id` and never write it anywhere.
    """

    pixels: np.ndarray
    rows: int
    cols: int
    photometric: str
    bits_stored: int
    transfer_syntax: str
    modality: str
    patient_id: str = field(repr=False)


def read_image(
    path: str | os.PathLike[str],
    *,
    allowed_modalities: frozenset[str] | None = DEFAULT_MODALITIES,
) -> DicomImage:
    """Read a single-frame grayscale DICOM file into a :class:`DicomImage` (pixels in [0, 1]).

    ``allowed_modalities``: accepted values of (0008,0060) Modality (upper case); a file without
    Modality is always accepted; ``None`` accepts every modality.

    Raises :class:`~saliency_audit.errors.DicomError` (naming ``path``, never a header value) for
    a non-DICOM or truncated file, missing pixel data, a multi-frame/3-D or colour image, a
    modality outside ``allowed_modalities``, or pixel data that cannot be decoded.
    """
    # pydicom warnings can quote header values (e.g. an invalid PatientID): keep them quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _read_dataset(path)
        return _to_image(path, ds, allowed_modalities)


# ----------------------------------------------------------------------------- reading


def _read_dataset(path: str | os.PathLike[str]) -> Dataset:
    prefix = "not a readable DICOM file: "
    try:
        return pydicom.dcmread(path, force=False)
    except FileNotFoundError:
        reason = "the file does not exist"
    except IsADirectoryError:
        reason = "the path is a directory"
    except PermissionError:
        reason = "permission denied"
    except InvalidDicomError:
        reason = "no DICOM file header (the 128-byte preamble and 'DICM' prefix are missing)"
    except Exception as exc:  # noqa: BLE001 - any parser failure means the same to the user
        reason = (
            "the header or encapsulated pixel data ends early or is corrupt "
            f"({type(exc).__name__}; truncated file?)"
        )
    raise DicomError(path, prefix + reason) from None


def _short_element(ds: Dataset, tag: int) -> bool:
    """True if the file ended inside the value of element ``tag`` (shorter than declared)."""
    elem = ds.get_item(tag)
    if not isinstance(elem, RawDataElement) or elem.length == _UNDEFINED_LENGTH:
        return False
    got = 0 if elem.value is None else len(elem.value)
    return got < elem.length


def _truncation(ds: Dataset) -> str | None:
    """A reason string if the file was cut short before its pixel data was complete."""
    if _PIXEL_DATA_TAG in ds:
        if _short_element(ds, _PIXEL_DATA_TAG):
            elem = ds.get_item(_PIXEL_DATA_TAG)
            got = 0 if elem.value is None else len(elem.value)
            return f"the file is truncated (pixel data has {got} of {elem.length} bytes)"
        return None
    tags = list(ds.keys())
    if tags and _short_element(ds, tags[-1]):
        return f"the file is truncated (it ends inside element {tags[-1]})"
    return None


def _has_pixel_data_tag(path: str | os.PathLike[str]) -> bool:
    """Whether the raw bytes contain a (7FE0,0010) Pixel Data tag (either byte order)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return b"\xe0\x7f\x10\x00" in data or b"\x7f\xe0\x00\x10" in data


def _transfer_syntax(ds: Dataset) -> _uid.UID:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return _uid.UID(str(ts).strip())
    implicit, little = ds.original_encoding
    if little is False:
        ts = _uid.ExplicitVRBigEndian
    else:
        ts = _uid.ImplicitVRLittleEndian if implicit else _uid.ExplicitVRLittleEndian
    ds.file_meta.TransferSyntaxUID = ts  # so that the decoder knows the encoding
    return ts


def _int(ds: Dataset, keyword: str, default: int | None) -> int | None:
    try:
        value = ds.get(keyword, default)
        return default if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return default


def _label(ts: _uid.UID) -> str:
    name = ts.name
    return f"'{name}' ({ts})" if name != str(ts) else f"'{ts}'"


def _to_image(
    path: str | os.PathLike[str], ds: Dataset, allowed: frozenset[str] | None
) -> DicomImage:
    truncated = _truncation(ds)
    if truncated:
        raise DicomError(path, f"not a readable DICOM file: {truncated}")
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise DicomError(path, "has float pixel data, which is not supported")
        if _has_pixel_data_tag(path):  # pydicom drops an unterminated encapsulated Pixel Data
            raise DicomError(
                path,
                "not a readable DICOM file: the file is truncated or its pixel data is corrupt "
                "(the Pixel Data element could not be read to its end)",
            )
        raise DicomError(path, "has no pixel data")

    modality = str(ds.get("Modality", "") or "").strip().upper()
    if allowed is not None and modality and modality not in allowed:
        raise DicomError(
            path,
            f"modality {modality!r} is not one of the allowed {sorted(allowed)} "
            f"(config key convert.allowed_modalities: add {modality!r}, or null for any)",
        )

    frames = _int(ds, "NumberOfFrames", 1) or 1
    if frames > 1:
        raise DicomError(
            path, f"is a 3-D volume/multi-frame image ({frames} frames); expected one 2-D image"
        )
    spp = _int(ds, "SamplesPerPixel", 1) or 1
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if not photometric and spp == 1:
        photometric = "MONOCHROME2"
        ds.PhotometricInterpretation = photometric
    if spp != 1 or photometric not in _GRAYSCALE:
        raise DicomError(
            path,
            f"expected a grayscale image, got {photometric or 'no photometric interpretation'} "
            f"with {spp} sample(s) per pixel",
        )
    rows, cols = _int(ds, "Rows", None), _int(ds, "Columns", None)
    bits_alloc = _int(ds, "BitsAllocated", None)
    if not rows or not cols or not bits_alloc:
        raise DicomError(path, "lacks Rows, Columns or Bits Allocated")
    bits_stored = _int(ds, "BitsStored", bits_alloc) or bits_alloc

    ts = _transfer_syntax(ds)
    arr = _decode(path, ds, ts, bits_alloc)
    if arr.ndim != 2:
        raise DicomError(path, f"is a 3-D volume/multi-frame image (pixel array shape {arr.shape})")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    pixels = _normalise(path, arr, ds, photometric)

    try:
        patient_id = str(ds.get("PatientID", "") or "").strip()
    except Exception:  # noqa: BLE001 - an undecodable id is treated as absent
        patient_id = ""
    return DicomImage(
        pixels=pixels,
        rows=int(arr.shape[0]),
        cols=int(arr.shape[1]),
        photometric=photometric,
        bits_stored=bits_stored,
        transfer_syntax=str(ts),
        modality=modality,
        patient_id=patient_id,
    )


# ----------------------------------------------------------------------------- decoding


def _decode(path: str | os.PathLike[str], ds: Dataset, ts: _uid.UID, bits_alloc: int) -> np.ndarray:
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise DicomError(
            path,
            f"cannot decode transfer syntax {_label(ts)}: pydicom has no pixel data decoder "
            "for it; convert the file first (e.g. dcmtk 'dcmdjpeg'/'dcmconv' or gdcmconv)",
        ) from None
    if not decoder.is_available:
        hint = _PLUGIN_HINT.get(ts, "a pydicom pixel data plugin for it")
        raise DicomError(
            path,
            f"cannot decode transfer syntax {_label(ts)}: no pixel data plugin is installed "
            f"(install {hint})",
        )

    if ts in _PILLOW_FIRST and bits_alloc == 8 and "pillow" in decoder.available_plugins:
        try:  # libjpeg-turbo through Pillow is ~4x faster than libjpeg for 8-bit JPEG
            return _pixel_array(ds, "pillow")
        except Exception:  # noqa: BLE001 - fall back to every available plugin
            pass
    try:
        return _pixel_array(ds, "")
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the same to the user
        detail = _scrub(" ".join(str(exc).split()), ds)[:300]
        raise DicomError(
            path,
            f"pixel data could not be decoded (transfer syntax {_label(ts)}): "
            f"{type(exc).__name__}: {detail}",
        ) from None


def _pixel_array(ds: Dataset, plugin: str) -> np.ndarray:
    ds.pixel_array_options(decoding_plugin=plugin)
    return ds.pixel_array


def _scrub(message: str, ds: Dataset) -> str:
    """Remove the values of identifying header fields from a library's message."""
    for keyword in IDENTIFYING_KEYWORDS:
        try:
            value = ds.get(keyword)
        except Exception:  # noqa: BLE001 - an unreadable value cannot be in the message either
            continue
        for item in value if isinstance(value, list | tuple | MultiValue) else [value]:
            if item is None or isinstance(item, Dataset):
                continue
            text = str(item).strip()
            # a person name also by its components (family^given^middle, alphabetic=ideographic)
            for part in sorted({text, *re.split(r"[\^=]", text)}, key=len, reverse=True):
                part = part.strip()
                if len(part) >= 3 and part in message:
                    message = message.replace(part, "<redacted>")
    return message


# ----------------------------------------------------------------------------- grayscale pipeline


def _float(ds: Dataset, keyword: str, default: float) -> float:
    try:
        value = ds.get(keyword, None)
        if value is None or value == "":
            return default
        if isinstance(value, list | tuple | MultiValue):
            value = value[0]
        return float(value)
    except (TypeError, ValueError, IndexError):
        return default


def _lut_table(item: Dataset, ds: Dataset) -> tuple[np.ndarray, int, int]:
    """(entries as float64, first mapped input value, bits per entry) of a LUT sequence item."""
    n, first, bits = (int(v) for v in item.LUTDescriptor)
    n = n or 65536
    if first >= 2**15 and _int(ds, "PixelRepresentation", 0) == 1:
        first -= 2**16  # descriptor read as US although the input range is signed
    data = item.LUTData
    if isinstance(data, bytes | bytearray):
        if len(data) >= 2 * n:
            little = ds.original_encoding[1] is not False
            table = np.frombuffer(bytes(data[: 2 * n]), dtype="<u2" if little else ">u2")
        else:
            table = np.frombuffer(bytes(data), dtype=np.uint8)
    else:
        table = np.atleast_1d(np.asarray(data))
    if table.size == 0:
        raise ValueError("empty LUT data")
    return table.astype(np.float64), first, bits


def _apply_lut(x: np.ndarray, table: np.ndarray, first: int) -> np.ndarray:
    index = np.clip(np.floor(x) - first, 0, table.size - 1).astype(np.intp)
    return table[index]


def _modality_fn(path, ds: Dataset):
    """(stored values -> modality output values as float64, the rescale slope or ``None``).

    The slope is ``None`` for a Modality LUT Sequence (not a linear map)."""
    seq = ds.get("ModalityLUTSequence")
    if seq:
        try:
            table, first, _ = _lut_table(seq[0], ds)
            return (lambda v: _apply_lut(v.astype(np.float64), table, first)), None
        except Exception:  # noqa: BLE001
            log.warning("%s: ignoring an unreadable Modality LUT Sequence", path)
    slope = _float(ds, "RescaleSlope", 1.0)
    intercept = _float(ds, "RescaleIntercept", 0.0)
    return (lambda v: v.astype(np.float64) * slope + intercept), slope


def _lut_top(path, table: np.ndarray, bits: int) -> float:
    """The output value that means white for a VOI LUT: 2**bits - 1 of its descriptor, unless
    its entries use at least 4 bits fewer than it declares (a known vendor quirk: a descriptor
    of 16 bits over 12-bit entries would leave the image at most 1/16 bright, nearly black);
    then the top of the bits the entries use. A table that merely stops short of white (entries
    within 3 bits of the declared depth) is taken as written."""
    peak = float(table.max())
    used = max(int(peak).bit_length(), 1)
    if bits <= 0 or used <= bits - 4:
        if bits > 0:
            log.warning(
                "%s: VOI LUT descriptor declares %d bits but its entries use %d (largest %d): "
                "scaling by the entries' range",
                path,
                bits,
                used,
                int(peak),
            )
        return float(2**used - 1) if peak > 0 else 1.0
    return float(2**bits - 1)


def _voi_fn(path, ds: Dataset):
    """Modality values -> [0, 1] by the first VOI LUT or window, or ``None`` without VOI."""
    seq = ds.get("VOILUTSequence")
    if seq:
        try:
            table, first, bits = _lut_table(seq[0], ds)
            top = _lut_top(path, table, bits)
            return lambda x: np.clip(_apply_lut(x, table, first) / top, 0.0, 1.0)
        except Exception:  # noqa: BLE001
            log.warning("%s: ignoring an unreadable VOI LUT Sequence", path)
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        return None
    center = _float(ds, "WindowCenter", np.nan)
    width = _float(ds, "WindowWidth", np.nan)
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        log.warning("%s: unknown VOI LUT Function, using LINEAR", path)
        function = "LINEAR"
    minimum = 1.0 if function == "LINEAR" else 0.0
    if (
        not (np.isfinite(center) and np.isfinite(width))
        or width < minimum
        or (function != "LINEAR" and width == 0)
    ):
        log.warning("%s: ignoring an invalid window (center/width), min-max scaling instead", path)
        return None
    if function == "SIGMOID":  # PS3.3 C.11.2.1.3.1
        return lambda x: 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))
    if function == "LINEAR_EXACT":  # PS3.3 C.11.2.1.3.2
        return lambda x: np.clip((x - center) / width + 0.5, 0.0, 1.0)
    # LINEAR, PS3.3 C.11.2.1.2.1: <= c - 0.5 - (w-1)/2 -> 0; > c - 0.5 + (w-1)/2 -> 1
    if width == 1.0:
        return lambda x: (x > center - 0.5).astype(np.float64)
    return lambda x: np.clip((x - (center - 0.5)) / (width - 1.0) + 0.5, 0.0, 1.0)


def _padding(path, arr: np.ndarray, ds: Dataset) -> np.ndarray | None:
    """Mask of the Pixel Padding Value pixels (the range up to Pixel Padding Range Limit when
    given), in stored values; ``None`` without padding or when every pixel would be padding."""
    value = _float(ds, "PixelPaddingValue", None)
    if value is None:
        return None
    limit = _float(ds, "PixelPaddingRangeLimit", value)
    lo, hi = min(value, limit), max(value, limit)
    pad = (arr >= lo) & (arr <= hi)
    if pad.all():
        log.warning("%s: every pixel equals the Pixel Padding Value; padding ignored", path)
        return None
    return pad if pad.any() else None


def _normalise(path, arr: np.ndarray, ds: Dataset, photometric: str) -> np.ndarray:
    """Stored values ``(rows, cols)`` -> ``float32`` display values in [0, 1]."""
    modality, slope = _modality_fn(path, ds)
    voi = _voi_fn(path, ds)
    small_int = arr.dtype.kind in "ui" and arr.dtype.itemsize <= 2
    pad = _padding(path, arr, ds)
    image = arr if pad is None else arr[~pad]  # the pixels the scaling looks at

    if voi is None and slope is not None:
        # Min-max scaling after a linear modality LUT equals min-max scaling of the stored values
        # (reversed for a negative slope). float32 arithmetic is exact here for <= 16-bit input:
        # (x - lo) and (hi - lo) are exact and the division is correctly rounded.
        lo, hi = image.min(), image.max()
        if slope == 0 or not hi > lo:  # a constant image carries nothing: all black
            return np.zeros(arr.shape, dtype=np.float32)
        ftype = np.float32 if small_int else np.float64
        x = arr.astype(ftype)
        span = ftype(hi) - ftype(lo)
        out = (x - ftype(lo)) / span if slope > 0 else (ftype(hi) - x) / span
        out = out.astype(np.float32, copy=False)
        if pad is not None:  # padding outside the image's range; set to black below
            np.clip(out, 0.0, 1.0, out=out)
    else:
        index = None
        values = arr
        if small_int:  # the image becomes one look-up in a table over all stored values
            unsigned = np.dtype(f"u{arr.dtype.itemsize}")
            index = arr.view(unsigned)
            values = np.arange(2 ** (8 * arr.dtype.itemsize), dtype=unsigned).view(arr.dtype)
        mod = modality(values)
        if voi is not None:
            table = voi(mod)
        else:  # Modality LUT Sequence: min-max over the values present in the image
            if index is not None:
                seen = index.ravel() if pad is None else index[~pad]
                present = mod[np.bincount(seen, minlength=values.size).astype(bool)]
            else:
                present = mod if pad is None else mod.reshape(arr.shape)[~pad]
            lo, hi = float(present.min()), float(present.max())
            if not hi > lo:
                return np.zeros(arr.shape, dtype=np.float32)
            table = np.clip((mod - lo) / (hi - lo), 0.0, 1.0)
        table = table.astype(np.float32)
        out = np.take(table, index) if index is not None else table.reshape(arr.shape)
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    if photometric == "MONOCHROME1" or shape == "INVERSE":
        np.subtract(np.float32(1.0), out, out=out)
    if pad is not None:
        out[pad] = 0.0
    return out
