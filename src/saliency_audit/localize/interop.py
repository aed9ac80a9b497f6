"""cheXlocalize's segmentation JSON: ``{image_id: {finding: {"size": [H, W], "counts": str}}}``.

The layout of ``gt_segmentations_val.json`` and of what ``heatmap_to_segmentation.py`` writes,
so cheXlocalize's ``eval.py`` reads our files unchanged: every image id has every one of its
ten localisation tasks (all-zero masks for the findings not audited), masks are COCO RLE
(pycocotools, column-major), at the model's image size (``image_size``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from saliency_audit import io
from saliency_audit.errors import InputError
from saliency_audit.formats.chexlocalize import JSON_NAMES, LOCALIZATION_TASKS
from saliency_audit.metrics.localization import decode_coco_rle, encode_coco_rle

#: CheXpert's label names that cheXlocalize's JSON spells otherwise
ALIASES = JSON_NAMES


def task_name(finding: str) -> str:
    """The key a finding has in cheXlocalize's JSON."""
    return ALIASES.get(finding, finding)


def write_segmentations(path, image_ids: Sequence[str], masks, finding: str) -> None:
    """Binary ``masks`` (n, H, W) of ``finding`` as a cheXlocalize JSON, every other
    localisation task an all-zero mask of the same size."""
    masks = np.asarray(masks, dtype=bool)
    ids = [str(i) for i in image_ids]
    if len(ids) != masks.shape[0]:
        raise InputError(f"{path}: {len(ids)} image ids for {masks.shape[0]} masks")
    key = task_name(finding)
    rles = encode_coco_rle(masks)
    empty = encode_coco_rle(np.zeros((1, *masks.shape[1:]), dtype=bool))[0] if ids else None
    data = {}
    for image_id, rle in zip(ids, rles, strict=True):
        entry = {task: empty for task in LOCALIZATION_TASKS}
        entry[key] = rle
        data[image_id] = entry
    io.write_json(path, data)


def read_segmentations(
    path, finding: str, image_ids: Sequence[str] | None = None, *, skip_absent: bool = False
):
    """``(image_ids, masks)`` of ``finding`` from a cheXlocalize JSON (in ``image_ids``' order
    when given: an id the file lacks is an error naming it, or with ``skip_absent`` left out
    of the result). bool (n, H, W)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read a cheXlocalize segmentation JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an object {{image_id: {{finding: RLE}}}}")
    keys = {finding, task_name(finding)}
    ids = list(data) if image_ids is None else [str(i) for i in image_ids]
    if skip_absent:
        ids = [i for i in ids if i in data]
    rles = []
    for image_id in ids:
        entry = data.get(image_id)
        if not isinstance(entry, dict):
            raise InputError(f"{path}: no segmentations for image {image_id!r}")
        found = [entry[k] for k in keys if k in entry]
        if not found:
            raise InputError(
                f"{path}: image {image_id!r} has no {finding!r} segmentation "
                f"(has {', '.join(sorted(entry)) or 'none'})"
            )
        rles.append(found[0])
    try:
        masks = decode_coco_rle(rles) if rles else np.zeros((0, 0, 0), dtype=bool)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
    return ids, masks
