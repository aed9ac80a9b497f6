"""Chest-radiograph-like phantoms with pneumothorax-like and pneumonia-like lesions.

Smooth anatomy (body, lungs, mediastinum, heart, ribs, vessel markings, lesions) is drawn
at a low working resolution (at most 256 px), upsampled bilinearly, and full-resolution
detail (the thin pleural line, the shortcut marker, quantum-like noise) is added on top.
Everything is drawn in normalised coordinates ``u`` (column / width, left to right) and
``v`` (row / height, top to bottom) in ``[0, 1]``; the image left is the patient's right,
so the heart bulges to the image right.

Intensities are built as floats in ``[0, 1]`` and returned as ``uint8`` (0..255).
All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

LESIONS = (None, "pneumothorax", "pneumonia")
#: what ``draw_phantom(lesions=...)`` can plant together in one image
KINDS = ("pneumothorax", "pneumonia", "cardiomegaly")
WORK_RES = 256  # largest resolution at which smooth structure is drawn

# 5x7 bitmaps of letter-like glyphs for the shortcut marker (1 = bright stroke).
_GLYPHS = {
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
}


@dataclass
class Phantom:
    """One synthetic radiograph and its ground truth.

    ``image``: ``uint8 (S, S)``.  ``lungs``: ``bool (S, S)`` union of both lung fields.
    ``regions``: one ``uint8 (S, S)`` 0/1 mask per pneumothorax-like region (disjoint).
    ``boxes``: one ``(x, y, width, height)`` tuple of ints per pneumonia-like opacity, in
    pixels, ``(x, y)`` the top-left corner; the box spans columns ``x .. x+width-1``.
    ``marker``: ``(x, y, width, height)`` of the shortcut marker, or ``None``.
    ``heart``: ``uint8 (S, S)`` 0/1 silhouette of an enlarged heart (cardiomegaly), else ``None``.
    """

    image: np.ndarray
    lungs: np.ndarray
    lesion: str | None = None
    regions: list[np.ndarray] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    marker: tuple[int, int, int, int] | None = None
    abnormal: bool = False
    heart: np.ndarray | None = None

    @property
    def mask(self) -> np.ndarray:
        """Union of the pneumothorax regions, ``uint8 (S, S)`` 0/1 (zeros for others)."""
        out = np.zeros(self.image.shape, dtype=np.uint8)
        for region in self.regions:
            out |= region
        return out

    @property
    def box_mask(self) -> np.ndarray:
        """Union of the opacity boxes as a ``uint8 (S, S)`` 0/1 mask."""
        out = np.zeros(self.image.shape, dtype=np.uint8)
        for x, y, w, h in self.boxes:
            out[y : y + h, x : x + w] = 1
        return out


def _upsample(a: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, pixel-centre-aligned resize of a square float field to ``size``."""
    a = np.asarray(a, dtype=np.float32)
    if a.shape[0] == size:
        return a
    return np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.BILINEAR))


def _smooth(a: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(a.astype(np.float32), sigma, mode="nearest")


def _ellipse_level(u, v, cx, cy, rx, ry, taper: float = 0.0) -> np.ndarray:
    """Normalised radial level of an ellipse (< 0 inside); ``taper`` narrows the top."""
    t = (v - cy) / ry
    rxe = rx * (1.0 - taper * np.clip(-t, 0.0, 1.0) ** 1.5)
    return np.sqrt(((u - cx) / rxe) ** 2 + t**2) - 1.0


@dataclass
class _Lung:
    side: int  # -1: image left (patient right), +1: image right
    cx: float
    cy: float
    rx: float
    ry: float
    binary: np.ndarray  # bool (L, L)
    soft: np.ndarray  # float (L, L)
    medial: int  # direction towards the mediastinum (-side)


def _vessel_markings(rng, u, v, lung: _Lung, res: int) -> np.ndarray:
    """Radial, branching, vessel-like lines from the hilum, fading to the periphery."""
    out = np.zeros_like(u)
    rows = np.flatnonzero(lung.binary.any(axis=1))
    cols = np.flatnonzero(lung.binary.any(axis=0))
    if rows.size == 0:
        return out
    r0, r1 = max(rows[0] - 2, 0), min(rows[-1] + 3, res)
    c0, c1 = max(cols[0] - 2, 0), min(cols[-1] + 3, res)
    uu, vv = u[r0:r1, c0:c1], v[r0:r1, c0:c1]
    hx = lung.cx + lung.medial * 0.75 * lung.rx
    hy = lung.cy + 0.05 * lung.ry
    dx, dy = uu - hx, vv - hy
    theta = np.arctan2(dy, dx * -lung.medial)  # 0 points laterally
    r = np.sqrt(dx**2 + dy**2) / (1.6 * lung.rx)
    g = np.zeros_like(uu)
    for k in range(2, 18):
        g += (
            rng.uniform(0.4, 1.0)
            / np.sqrt(k)
            * np.sin(k * theta + rng.uniform(0, 2 * np.pi) + rng.normal(0, 2.5) * r)
        )
    width = 0.09 * (1.15 - np.clip(r, 0.0, 1.0))
    lines = np.exp(-((g / width) ** 2)) * np.exp(-1.3 * r)
    out[r0:r1, c0:c1] = lines
    return out


def _ribs(rng, u, v, cx: float) -> np.ndarray:
    """Posterior-rib-like curved bands (0..1) across both hemithoraces."""
    a = np.abs(u - cx)
    p = v - 0.55 * a + 1.2 * a**2
    period = rng.uniform(0.075, 0.09)
    band = np.cos(2 * np.pi * p / period + rng.uniform(0, 2 * np.pi))
    return np.clip((band - 0.1) / 0.9, 0.0, 1.0) ** 1.5


def _sample_inside(rng, level: np.ndarray, below: float) -> tuple[int, int]:
    """A random (row, col) where ``level < below`` (falls back to the minimum)."""
    idx = np.flatnonzero(level.ravel() < below)
    if idx.size == 0:
        flat = int(np.argmin(level))
    else:
        flat = int(idx[rng.integers(idx.size)])
    return divmod(flat, level.shape[1])


def _draw_marker(rng, img: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """A bright letter-like glyph in the top-right corner (outside body and lungs)."""
    glyph = np.array([[c == "1" for c in row] for row in _GLYPHS["R"]], dtype=bool)
    cell = max(1, int(round(size * rng.uniform(0.007, 0.009))))
    pad = cell
    block = np.zeros((7 * cell + 2 * pad, 5 * cell + 2 * pad), dtype=np.float32)
    block[pad:-pad, pad:-pad] = np.kron(glyph, np.ones((cell, cell), dtype=bool))
    h, w = block.shape
    y = int(round(size * rng.uniform(0.025, 0.05)))
    x = size - w - int(round(size * rng.uniform(0.025, 0.05)))
    region = img[y : y + h, x : x + w]
    # faint square plate with bright strokes
    img[y : y + h, x : x + w] = np.maximum(region, 0.35 + 0.6 * block)
    return x, y, w, h


def marker_envelope(size: int) -> tuple[int, int, int, int]:
    """``(x, y, width, height)``: the box that holds the shortcut marker wherever
    :func:`_draw_marker` places it on a ``size`` x ``size`` image (the largest glyph at its
    farthest offsets), so that a marker region can be scored on images without the marker."""
    cell = max(1, int(round(size * 0.009)))
    h, w = 9 * cell, 7 * cell
    y0, y1 = int(round(size * 0.025)), int(round(size * 0.05)) + h
    x1 = size - int(round(size * 0.025))
    x0 = size - w - int(round(size * 0.05))
    return x0, y0, x1 - x0, y1 - y0


def add_marker(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple]:
    """A copy of a ``uint8`` phantom with the shortcut marker drawn on it, and its box: the
    same image but for the marker (the planted-shortcut benchmark's twin images)."""
    full = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    box = _draw_marker(rng, full, full.shape[0])
    return np.clip(full * 255.0 + 0.5, 0, 255).astype(np.uint8), box


def draw_phantom(
    rng: np.random.Generator,
    size: int = 1024,
    lesion: str | None = None,
    *,
    n_lesions: int | None = None,
    shortcut: bool = False,
    abnormal: bool = False,
    lesions: tuple[str, ...] | None = None,
) -> Phantom:
    """Draw one chest-radiograph-like phantom of ``size`` x ``size`` pixels.

    ``lesion``: ``None`` (negative), ``"pneumothorax"`` (a dark, marking-free air pocket
    between the chest wall and the collapsed lung, apical, lateral or basal, bounded by a
    bright pleural line, one-sided in 85% of images; returned as pixel masks) or
    ``"pneumonia"`` (1-2 patchy bright opacities anywhere inside the lungs; returned as
    tight boxes).  Pose (scale, shift) varies per image, so lesions do not sit at one place.
    ``n_lesions`` fixes the number of regions (1 or 2), else it is drawn.  ``shortcut`` adds
    a bright letter-like marker in the top-right corner.  ``abnormal``
    draws a non-opacity abnormality (enlarged heart, elevated hemidiaphragm).

    ``lesions`` (instead of ``lesion``): several findings in one image, any of :data:`KINDS`
    (``"cardiomegaly"``: an enlarged heart, returned as the ``heart`` silhouette).
    """
    if lesions is not None:
        unknown = sorted(set(lesions) - set(KINDS))
        if unknown or lesion is not None:
            raise ValueError(f"lesions must be some of {KINDS} (and lesion None), got {lesions}")
        kinds = set(lesions)
    elif lesion not in LESIONS:
        raise ValueError(f"lesion must be one of {LESIONS}, got {lesion!r}")
    else:
        kinds = {lesion} - {None}
    if size < 32:
        raise ValueError(f"size must be >= 32 pixels, got {size}")
    counts = {}
    for kind in ("pneumothorax", "pneumonia"):
        if kind not in kinds:
            continue
        if n_lesions is None:
            # a pneumothorax is nearly always one-sided; pneumonia is often bilateral
            bilateral = 0.15 if kind == "pneumothorax" else 0.4
            counts[kind] = int(rng.choice([1, 2], p=[1 - bilateral, bilateral]))
        elif n_lesions not in (1, 2):
            raise ValueError(f"n_lesions must be 1 or 2, got {n_lesions}")
        else:
            counts[kind] = n_lesions

    res = min(size, WORK_RES)
    px = 1.0 / res  # one working pixel in normalised units
    coords = (np.arange(res, dtype=np.float32) + 0.5) / res
    u, v = np.meshgrid(coords, coords)

    # --- per-image pose and anatomy --------------------------------------------------
    sc = rng.uniform(0.86, 1.06)
    ox, oy = rng.uniform(-0.06, 0.06), rng.uniform(-0.05, 0.05)
    mid = 0.5 + ox

    def pos(x, y):
        return mid + (x - 0.5) * sc, 0.5 + oy + (y - 0.5) * sc

    bx, by = pos(0.5, 0.6)
    body_level = _ellipse_level(u, v, bx, by, 0.45 * sc * rng.uniform(0.96, 1.04), 0.62 * sc)
    body_soft = _smooth(body_level < 0, 2.0 * res / WORK_RES)

    hcx, hcy = pos(0.55 + rng.uniform(-0.01, 0.02), 0.66)
    enlarged = abnormal or "cardiomegaly" in kinds
    heart_scale = rng.uniform(1.3, 1.45) if enlarged else rng.uniform(0.92, 1.05)
    heart_level = _ellipse_level(u, v, hcx, hcy, 0.13 * sc * heart_scale, 0.1 * sc * heart_scale)
    med_half = 0.055 * sc * rng.uniform(0.9, 1.1)
    med_half = med_half * (0.75 + 0.35 * np.clip((v - 0.25) / 0.4, 0, 1))
    med_binary = np.abs(u - mid) < med_half

    lungs: list[_Lung] = []
    for side in (-1, 1):
        lx, ly = pos(0.5 + side * rng.uniform(0.17, 0.19), 0.44 + rng.uniform(-0.01, 0.01))
        rx = 0.135 * sc * rng.uniform(0.93, 1.07)
        ry = 0.245 * sc * rng.uniform(0.93, 1.07)
        if abnormal and side == 1:
            ry *= 0.85  # elevated hemidiaphragm
            ly -= 0.03 * sc
        level = _ellipse_level(u, v, lx, ly, rx, ry, taper=0.3)
        binary = (level < 0) & ~med_binary & (heart_level > 0.05)
        soft = _smooth(binary, 0.7)
        lungs.append(_Lung(side, lx, ly, rx, ry, binary, soft, medial=-side))

    # --- lung parenchyma -------------------------------------------------------------
    lung_soft = lungs[0].soft + lungs[1].soft
    markings = sum(_vessel_markings(rng, u, v, lung, res) for lung in lungs)
    ribs = _ribs(rng, u, v, mid)
    mottle = _smooth(rng.standard_normal((res, res)), 1.0)
    lung_val = 0.2 + 0.07 * np.clip((v - 0.3) / 0.5, 0, 1) + 0.2 * markings + 0.02 * mottle

    # --- lesions (working resolution) ------------------------------------------------
    ptx_plans = []  # (lung, collapsed level field)
    if "pneumothorax" in kinds:
        sides = [int(rng.integers(2))] if counts["pneumothorax"] == 1 else [0, 1]
        ptx_soft = np.zeros_like(u)
        affected = np.zeros_like(u)
        for i in sides:
            lung = lungs[i]
            # The lung collapses away from the air pocket, which lies in a random direction
            # from apical (-90 deg) over lateral (0) to basal (+90, a deep sulcus).
            sx, sy = rng.uniform(0.5, 0.8), rng.uniform(0.6, 0.85)
            rxc, ryc = sx * lung.rx, sy * lung.ry
            angle = np.deg2rad(rng.uniform(-100.0, 100.0))
            ux, uy = -lung.medial * np.cos(angle), np.sin(angle)  # towards the pocket
            ccx = lung.cx - ux * 1.1 * (lung.rx - rxc)
            ccy = lung.cy - uy * 1.1 * (lung.ry - ryc)
            coll = _ellipse_level(u, v, ccx, ccy, rxc, ryc, taper=0.3)
            ptx_soft += lung.soft * _smooth(coll > 0, 0.5)
            affected += lung.soft
            ptx_plans.append((lung, coll, rxc))
        ptx_soft = np.clip(ptx_soft, 0, 1)
        # air: dark and free of lung markings; the collapsed lung (only) a little denser, so
        # that nothing outside the affected lung differs from a negative image
        lung_val = lung_val * (1 - ptx_soft) + (0.09 + 0.015 * mottle) * ptx_soft
        lung_val += 0.04 * np.clip(affected - ptx_soft, 0, 1)

    depth = np.sqrt(np.clip(-body_level * 4.0, 0, 1))
    img = 0.03 + body_soft * (0.32 + 0.26 * depth + 0.12 * v)
    # clavicles: bright oblique bands over the lung apices
    a = np.abs(u - mid)
    clav = np.exp(-(((v - (0.5 + oy - 0.31 * sc) + 0.15 * (a - 0.05)) / 0.013) ** 2))
    clav *= (a > 0.03) & (a < 0.3 * sc)
    img = img * (1 - lung_soft) + (lung_val + 0.06 * ribs) * lung_soft + 0.1 * clav
    heart_soft = _smooth(heart_level < 0, 2.0 * res / WORK_RES)
    med_soft = _smooth(med_binary, 2.0 * res / WORK_RES)
    img += (0.8 - img) * np.maximum(heart_soft, med_soft) * 0.85
    # trachea: a narrow air column in the upper mediastinum
    trachea = (np.abs(u - mid) < 0.014 * sc) & (v < 0.5 + oy - 0.12 * sc)
    img -= 0.15 * _smooth(trachea, 1.5 * res / WORK_RES)

    opacities = []
    if "pneumonia" in kinds:
        sides = [int(rng.integers(2))] if counts["pneumonia"] == 1 else [0, 1]
        for i in sides:
            lung = lungs[i]
            dist = ndimage.distance_transform_edt(lung.binary) * px
            row, col = _sample_inside(rng, -dist, -0.045)
            cx0, cy0 = (col + 0.5) * px, (row + 0.5) * px
            blob = np.zeros_like(u)
            for _ in range(int(rng.integers(3, 6))):
                gx = cx0 + rng.normal(0, 0.02)
                gy = cy0 + rng.normal(0, 0.03)
                sgx, sgy = rng.uniform(0.025, 0.04), rng.uniform(0.03, 0.05)
                blob += np.exp(-0.5 * (((u - gx) / sgx) ** 2 + ((v - gy) / sgy) ** 2))
            blob = np.clip(blob / blob.max(), 0, 1) ** 0.6
            # patchy, fluffy consolidation: coarse mottling a small CNN sees at 96 px
            patches = _smooth(rng.standard_normal((res, res)), 0.012 * res)
            texture = 0.55 + 0.45 * np.tanh(3.0 * patches / (patches.std() + 1e-6))
            contrib = rng.uniform(0.38, 0.5) * blob * texture * lung.soft
            contrib[contrib < 0.03 * contrib.max()] = 0.0
            img += contrib
            opacities.append(contrib)

    # --- upsample and full-resolution detail -----------------------------------------
    full = np.array(_upsample(img, size), dtype=np.float32)  # writable copy
    lungs_full = _upsample(lung_soft, size) > 0.5
    regions: list[np.ndarray] = []
    for lung, coll, rxc in ptx_plans:
        lung_up = _upsample(lung.soft, size)
        coll_up = _upsample(coll, size)
        region = (lung_up > 0.5) & (coll_up > 0)
        # thin bright visceral pleural line on the collapsed lung's edge
        width = 0.006 / rxc  # about 0.6 % of the image side: visible after downsampling
        line = np.exp(-((coll_up / width) ** 2)) * np.clip(2 * lung_up - 0.6, 0, 1)
        full += 0.3 * line
        regions.append(region.astype(np.uint8))
    boxes = []
    for contrib in opacities:
        up = _upsample(contrib, size)
        support = up > 0.2 * up.max()
        rows = np.flatnonzero(support.any(axis=1))
        cols = np.flatnonzero(support.any(axis=0))
        boxes.append(
            (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
        )
    marker = _draw_marker(rng, full, size) if shortcut else None
    heart = None
    if "cardiomegaly" in kinds:
        heart = (_upsample(heart_level, size) < 0).astype(np.uint8)

    # exposure / contrast variation, then noise at full resolution
    full = full * np.float32(rng.uniform(0.94, 1.06)) + np.float32(rng.uniform(-0.02, 0.02))
    full += rng.standard_normal((size, size), dtype=np.float32) * np.float32(0.018)
    image = np.clip(full * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Phantom(
        image=image,
        lungs=lungs_full,
        lesion=lesion,
        regions=regions,
        boxes=boxes,
        marker=marker,
        abnormal=abnormal,
        heart=heart,
    )
