"""Write small, real DICOM files for tests (every transfer syntax that ``read_image`` supports).

Encoders: plain pydicom writes for the uncompressed syntaxes (implicit/explicit VR little endian,
explicit VR big endian with byte-swapped pixel data, deflated explicit VR little endian);
``Dataset.compress`` for RLE Lossless (pydicom) and JPEG 2000 (pylibjpeg-openjpeg); Pillow plus
``pydicom.encaps.encapsulate`` for 8-bit JPEG Baseline/Extended; and a tiny lossless JPEG
(process 14, first-order prediction) encoder below for JPEG Lossless, which no installed package
can write.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydicom import uid as _uid
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate

UNCOMPRESSED = (
    _uid.ImplicitVRLittleEndian,
    _uid.ExplicitVRLittleEndian,
    _uid.ExplicitVRBigEndian,
    _uid.DeflatedExplicitVRLittleEndian,
)
JPEG_8BIT = (_uid.JPEGBaseline8Bit, _uid.JPEGExtended12Bit)
JPEG_LOSSLESS = (_uid.JPEGLossless, _uid.JPEGLosslessSV1)
VIA_COMPRESS = (_uid.RLELossless, _uid.JPEG2000Lossless, _uid.JPEG2000)


def make_dicom(
    path: str | Path,
    pixels: np.ndarray | None,
    *,
    transfer_syntax: str,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    signed: bool = False,
    window: tuple[float, float] | tuple[float, float, str] | None = None,
    voi_lut: tuple[int, int, np.ndarray] | None = None,
    rescale: tuple[float, float] | None = None,
    modality: str | None = "CR",
    extra: dict[str, Any] | None = None,
    jpeg_quality: int = 95,
    j2k_ratio: float = 5.0,
) -> Path:
    """Write ``pixels`` (stored values) as a DICOM file at ``path`` and return the path.

    ``pixels``: integer ``(rows, cols)``; ``(frames, rows, cols)`` writes a multi-frame image
    (uncompressed syntaxes); ``(rows, cols, 3)`` with ``photometric="RGB"`` a colour image;
    ``None`` a dataset without Pixel Data. Bits Allocated is 8 when ``bits_stored`` <= 8 else 16;
    ``bits_stored`` defaults to 8 or 16 by the array's dtype. ``window``: (center, width[, VOI LUT
    Function]); ``voi_lut``: (first mapped value, bits per entry, table); ``rescale``: (slope,
    intercept); ``modality``: None leaves Modality out; ``extra``: keyword -> value set last.
    ``jpeg_quality`` (Pillow JPEG) and ``j2k_ratio`` (lossy JPEG 2000 compression ratio) only
    matter for the lossy syntaxes.
    """
    path = Path(path)
    ts = _uid.UID(transfer_syntax)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.file_meta.MediaStorageSOPClassUID = _uid.SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = _uid.generate_uid()
    ds.SOPClassUID = _uid.SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID = "TEST-PATIENT"
    if modality is not None:
        ds.Modality = modality

    if pixels is not None:
        arr = np.asarray(pixels)
        if bits_stored is None:
            bits_stored = 8 if arr.dtype.itemsize == 1 else 16
        alloc = 8 if bits_stored <= 8 else 16
        dtype = np.dtype(f"{'i' if signed else 'u'}{alloc // 8}")
        colour = photometric not in ("MONOCHROME1", "MONOCHROME2")
        frames = arr.shape[0] if arr.ndim == 3 and not colour else 1
        rows, cols = arr.shape[1:] if frames > 1 else arr.shape[:2]
        ds.Rows, ds.Columns = int(rows), int(cols)
        ds.SamplesPerPixel = 3 if colour else 1
        if colour:
            ds.PlanarConfiguration = 0
        if frames > 1:
            ds.NumberOfFrames = frames
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = alloc, bits_stored, bits_stored - 1
        ds.PixelRepresentation = int(signed)
        _set_voi(ds, window, voi_lut, rescale, signed)
        stored = np.ascontiguousarray(arr.astype(dtype))
        _set_pixels(ds, stored, ts, bits_stored, jpeg_quality, j2k_ratio)
    else:
        _set_voi(ds, window, voi_lut, rescale, signed)

    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _set_voi(ds, window, voi_lut, rescale, signed) -> None:
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = rescale
        ds.RescaleType = "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window[0], window[1]
        if len(window) > 2:
            ds.VOILUTFunction = window[2]
    if voi_lut is not None:
        first, bits, table = voi_lut
        item = Dataset()
        item.add_new("LUTDescriptor", "SS" if first < 0 else "US", [len(table), first, bits])
        item.add_new("LUTData", "US", [int(v) for v in table])
        ds.VOILUTSequence = [item]


def _set_pixels(ds, stored, ts, bits_stored, jpeg_quality, j2k_ratio) -> None:
    if ts in UNCOMPRESSED:
        data = (
            stored.astype(stored.dtype.newbyteorder(">"))
            if ts == _uid.ExplicitVRBigEndian
            else (stored)
        )
        ds.PixelData = data.tobytes()
        ds["PixelData"].VR = "OB" if stored.dtype.itemsize == 1 else "OW"
    elif ts in JPEG_8BIT:
        if stored.dtype != np.uint8:
            raise ValueError("the JPEG Baseline/Extended factory writes 8-bit unsigned only")
        buf = io.BytesIO()
        Image.fromarray(stored).save(buf, format="JPEG", quality=jpeg_quality)
        ds.PixelData = encapsulate([buf.getvalue()])
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
    elif ts in JPEG_LOSSLESS:
        ds.PixelData = encapsulate([encode_jpeg_lossless(stored, bits_stored)])
        ds["PixelData"].VR = "OB"
    elif ts in VIA_COMPRESS:
        kwargs = {"j2k_cr": [j2k_ratio]} if ts == _uid.JPEG2000 else {}
        ds.compress(ts, stored, generate_instance_uid=False, **kwargs)
    else:
        raise ValueError(f"the test factory cannot write transfer syntax {ts.name}")


# ----------------------------------------------------------------------------- lossless JPEG


def encode_jpeg_lossless(image: np.ndarray, precision: int) -> bytes:
    """ITU-T T.81 lossless (SOF3) codestream of a 2-D image, predictor 1, point transform 0.

    Differences are coded with one Huffman table in which all 17 categories have a 5-bit code:
    not compact, but valid and simple. Signed input is coded as its two's complement bit pattern,
    which is what DICOM expects for signed lossless JPEG.
    """
    if image.ndim != 2:
        raise ValueError("encode_jpeg_lossless takes a 2-D image")
    rows, cols = image.shape
    mask = (1 << precision) - 1
    x = image.astype(np.int64) & mask
    pred = np.empty_like(x)
    pred[0, 0] = 1 << (precision - 1)
    pred[0, 1:] = x[0, :-1]
    pred[1:, 0] = x[:-1, 0]
    pred[1:, 1:] = x[1:, :-1]
    diff = (x - pred) & 0xFFFF
    diff = np.where(diff >= 0x8000, diff - 0x10000, diff).ravel()

    bits: list[str] = []
    for d in diff.tolist():
        mag = abs(d)
        cat = 16 if mag >= 0x8000 else mag.bit_length()
        bits.append(format(cat, "05b"))  # canonical code of symbol `cat` (all length 5)
        if 0 < cat < 16:
            extra = d if d > 0 else d - 1 + (1 << cat)
            bits.append(format(extra, f"0{cat}b"))
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)
    data = bytearray()
    for i in range(0, len(stream), 8):
        byte = int(stream[i : i + 8], 2)
        data.append(byte)
        if byte == 0xFF:
            data.append(0x00)  # byte stuffing

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    sof = (
        bytes([precision]) + rows.to_bytes(2, "big") + cols.to_bytes(2, "big") + b"\x01\x01\x11\x00"
    )
    counts = [0] * 16
    counts[4] = 17  # 17 codes of length 5
    dht = b"\x00" + bytes(counts) + bytes(range(17))
    sos = b"\x01\x01\x00" + b"\x01\x00\x00"  # Ns=1, Cs=1, Td/Ta=0; Ss=1 (predictor), Se=0, Ah/Al=0
    out = b"\xff\xd8" + segment(0xC3, sof) + segment(0xC4, dht) + segment(0xDA, sos)
    out += bytes(data) + b"\xff\xd9"
    return out + (b"\x00" if len(out) % 2 else b"")
