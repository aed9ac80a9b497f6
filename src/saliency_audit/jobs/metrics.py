"""Metric jobs: saliency and baseline maps -> tidy long CSVs (one per method, one for baselines).

Rows: ``dataset, model, method, step, image_id, metric, value``; the metrics and the row roles
are those of :mod:`saliency_audit.vocabulary`.

- utility (all positive test images; ``step`` :data:`TRAINED`): every registered mask metric
  (``auprc``, ``auprc_trapz``, ``auroc``, ``iou_otsu``, ``iou_tuned``, ``hit``, ``mass``,
  ``rank``, ``topk``); for each randomized model also at its last cascade step (fully random)
  on the sample.
- randomization (sample): every similarity metric (``ssim``, ``spearman``) between the trained
  model's map and the map at each step; ``step`` :data:`RANDOM_PAIRS` holds the baseline
  (``image_id`` ``a|b``).
- agreement (sample; ``model`` :data:`REPEATABILITY` / :data:`REPRODUCIBILITY`): similarity
  between two models' maps of the same image.
- baselines: :data:`AVG` (mean train+val mask) and ``UNET`` / ``RETINANET`` maps for utility,
  and the two baseline replicates' agreement.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from saliency_audit import io, provenance
from saliency_audit import metrics as M
from saliency_audit.convert import read_index, scorable
from saliency_audit.errors import InputError
from saliency_audit.split import load_split, read_positives
from saliency_audit.vocabulary import (
    AGREEMENT_KINDS,
    AVG,
    RANDOM_PAIRS,
    TRAINED,
    is_cascade,
    metric_names,
)

#: a map stack, its raw attributions and its sidecar: {"maps": .npy, "raw": .npy, "meta": .json}
MapFiles = Mapping[str, str]


def load_maps(files: MapFiles, rows: pd.DataFrame, key: str = "maps") -> np.ndarray:
    """A map stack (``key="raw"``: its raw attributions) as float32, checked against ``rows``
    and its sidecar's image ids."""
    path = files[key]
    maps = io.load_stack(path)
    if maps.shape[0] != len(rows):
        raise InputError(f"{path}: {maps.shape[0]} maps but {len(rows)} rows are expected")
    with open(files["meta"]) as fh:
        ids = json.load(fh).get("image_ids")
    if ids is not None and list(map(str, ids)) != rows["image_id"].astype(str).tolist():
        raise InputError(f"{files['meta']}: its image ids differ from the positive test rows")
    return np.asarray(maps, dtype=np.float32)


def _raw(files: MapFiles, rows: pd.DataFrame, params: M.MetricParams) -> np.ndarray | None:
    """The raw attributions when the ranking metrics read them (``metrics.ranking_map``)."""
    return load_maps(files, rows, "raw") if params.ranking_map == "raw" else None


def write_metrics(path, frames) -> None:
    """The tidy rows, stamped with the commit and config hash that produced them."""
    table = M.concat_tidy(frames)
    for key, value in provenance.stamp().items():
        table[key] = value
    io.write_csv(path, table, index=False)


def method_metrics_job(
    *,
    dataset: str,
    method: str,
    positives,
    masks,
    saliency: Mapping[str, MapFiles],
    randomization: Mapping[str, Mapping[str, MapFiles]],
    agreement: Mapping[str, tuple[str, str]],
    out_csv,
    out_segmentations,
    params: M.MetricParams,
    random_pairs: int,
    log: logging.Logger,
) -> None:
    """All metrics of one method. ``saliency``: model -> map files; ``randomization``: model ->
    {step -> map files} (cascade steps top-down first); ``agreement``: kind -> (model a, b)."""
    rows = read_positives(positives)
    sampled = rows["sampled"].to_numpy(bool)
    ids = rows["image_id"].tolist()
    sample_ids = rows.loc[sampled, "image_id"].tolist()
    gt = np.asarray(io.load_stack(masks)[rows["index"].to_numpy()]) > 0
    similarity = metric_names("similarity")
    frames, segmentations = [], {}
    maps = {m: load_maps(files, rows) for m, files in saliency.items()}
    for model, stack in maps.items():
        vals, ctx = M.score_maps(stack, _raw(saliency[model], rows, params), gt, params)
        frames.append(
            M.tidy_frame(
                vals, dataset=dataset, model=model, method=method, step=TRAINED, image_ids=ids
            )
        )
        otsu = ctx.shared("otsu", lambda s=stack: M.otsu_threshold_masks(s))
        segmentations[model] = dict(zip(ids, M.encode_coco_rle(otsu), strict=True))
        log.info(
            "%s %s utility: mean AUPRC %.3f over %d images",
            method,
            model,
            np.nanmean(vals["auprc"]),
            len(ids),
        )
    sample_rows = rows[sampled].reset_index(drop=True)
    for model, steps in randomization.items():
        trained = maps[model][sampled]
        pairs = M.random_pair_baseline(
            trained,
            n_pairs=random_pairs,
            seed=params.seed,
            win_size=params.ssim_window,
            data_range=params.ssim_data_range,
        )
        pair_ids = [
            f"{sample_ids[a]}|{sample_ids[b]}"
            for a, b in zip(pairs.image_a, pairs.image_b, strict=True)
        ]
        frames.append(
            M.tidy_frame(
                {m: pairs[m] for m in similarity},
                dataset=dataset,
                model=model,
                method=method,
                step=RANDOM_PAIRS,
                image_ids=pair_ids,
            )
        )
        last_cascade = [s for s in steps if is_cascade(s)][-1:]
        for step, files in steps.items():
            stack = load_maps(files, sample_rows)
            vals = M.score(similarity, trained, stack, params)
            frames.append(
                M.tidy_frame(
                    vals,
                    dataset=dataset,
                    model=model,
                    method=method,
                    step=step,
                    image_ids=sample_ids,
                )
            )
            if step in last_cascade:
                raw = _raw(files, sample_rows, params)
                util, _ = M.score_maps(stack, raw, gt[sampled], params)
                frames.append(
                    M.tidy_frame(
                        util,
                        dataset=dataset,
                        model=model,
                        method=method,
                        step=step,
                        image_ids=sample_ids,
                    )
                )
            log.info(
                "%s %s %s: mean SSIM %.3f (random pairs %.3f)",
                method,
                model,
                step,
                np.nanmean(vals["ssim"]),
                pairs["ssim"].mean(),
            )
    for kind, (a, b) in agreement.items():
        vals = M.score(similarity, maps[a][sampled], maps[b][sampled], params)
        frames.append(
            M.tidy_frame(
                vals, dataset=dataset, model=kind, method=method, step=TRAINED, image_ids=sample_ids
            )
        )
        log.info("%s %s (%s vs %s): mean SSIM %.3f", method, kind, a, b, np.nanmean(vals["ssim"]))
    write_metrics(out_csv, frames)
    io.write_json(
        out_segmentations,
        {
            "method": method,
            "threshold": "Otsu per map (cheXlocalize)",
            "encoding": "COCO RLE (pycocotools), column-major",
            "segmentations": segmentations,
        },
    )


def average_mask(masks, index, split) -> np.ndarray:
    """The AVG baseline: mean of the train and validation masks (float in [0, 1]); positives
    without ground truth (``unannotated: train``) take no part."""
    table = read_index(index)
    merged = table.merge(load_split(split), on="image_id", validate="one_to_one")
    keep = merged["split"].isin(["train", "val"]) & scorable(merged)
    rows = merged.loc[keep, "index"].to_numpy()
    stack = io.load_stack(masks)
    total = np.zeros(stack.shape[1:], np.float64)
    for start in range(0, rows.size, 256):
        total += (np.asarray(stack[rows[start : start + 256]]) > 0).sum(axis=0)
    return (total / max(rows.size, 1)).astype(np.float32)


def baseline_metrics_job(
    *,
    dataset: str,
    label: str,
    positives,
    masks,
    index,
    split,
    baselines: Mapping[str, Mapping[str, str]],
    out_csv,
    params: M.MetricParams,
    log: logging.Logger,
) -> None:
    """Utility of AVG and of each localisation baseline replicate; agreement of the first two
    replicates. ``baselines``: model id -> {"maps": maps.npy, "rows": maps_rows.csv}."""
    rows = read_positives(positives)
    sampled = rows["sampled"].to_numpy(bool)
    ids = rows["image_id"].tolist()
    gt = np.asarray(io.load_stack(masks)[rows["index"].to_numpy()]) > 0
    frames = []
    avg = np.broadcast_to(average_mask(masks, index, split), gt.shape)
    vals, _ = M.score_maps(np.ascontiguousarray(avg), None, gt, params)
    frames.append(
        M.tidy_frame(vals, dataset=dataset, model=AVG, method=AVG, step=TRAINED, image_ids=ids)
    )
    log.info("AVG utility: mean AUPRC %.3f", np.nanmean(vals["auprc"]))
    stacks = {}
    for model, files in baselines.items():
        brow = pd.read_csv(files["rows"], dtype={"image_id": str})
        pos = {i: r for r, i in zip(brow["row"], brow["image_id"], strict=True)}
        missing = [i for i in ids if i not in pos]
        if missing:
            raise InputError(f"{files['rows']}: no map for positive test image(s) {missing[:3]}")
        stack = np.asarray(io.load_stack(files["maps"])[[pos[i] for i in ids]], np.float32)
        stacks[model] = stack
        vals, _ = M.score_maps(stack, None, gt, params)
        frames.append(
            M.tidy_frame(
                vals, dataset=dataset, model=model, method=label, step=TRAINED, image_ids=ids
            )
        )
        log.info("%s utility: mean AUPRC %.3f", model, np.nanmean(vals["auprc"]))
    names = list(stacks)
    if len(names) >= 2:
        sim = M.score(
            metric_names("similarity"),
            stacks[names[0]][sampled],
            stacks[names[1]][sampled],
            params,
        )
        sample_ids = rows.loc[sampled, "image_id"].tolist()
        for kind in AGREEMENT_KINDS:
            frames.append(
                M.tidy_frame(
                    sim,
                    dataset=dataset,
                    model=kind,
                    method=label,
                    step=TRAINED,
                    image_ids=sample_ids,
                )
            )
        log.info("%s vs %s: mean SSIM %.3f", names[0], names[1], np.nanmean(sim["ssim"]))
    write_metrics(out_csv, frames)
