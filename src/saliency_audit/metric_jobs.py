"""Metric jobs: saliency and baseline maps -> tidy long CSVs (one per method, one for baselines).

Rows: ``dataset, model, method, step, image_id, metric, value``.

- utility (all positive test images; ``step`` ``trained``): ``auprc``, ``auprc_trapz``,
  ``auroc``, cheXlocalize-style ``iou_otsu``, ``iou_tuned`` (threshold tuned on the other half of
  the images: 2-fold cross-fitting, so no image is scored with a threshold tuned on itself),
  ``hit`` (pointing game), ``mass`` (relevance mass), ``rank`` (relevance rank), ``topk``;
  for each randomized model also ``step`` = its last cascade step (fully random) on the sample.
- randomization (sample): ``ssim``, ``spearman`` between the trained model's map and the map at
  each step; ``step`` ``random_pairs`` holds the baseline (``image_id`` ``a|b``).
- agreement (sample; ``model`` ``repeatability`` / ``reproducibility``): ``ssim``, ``spearman``
  between two models' maps of the same image.
- baselines: ``AVG`` (mean train+val mask) and ``UNET`` / ``RETINANET`` maps for utility, and
  the two baseline replicates' agreement.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from saliency_audit import io
from saliency_audit import metrics as M
from saliency_audit.errors import InputError
from saliency_audit.saliency.jobs import read_rows
from saliency_audit.split import load_split

#: localization metrics beyond the paper that utility_values() adds to auprc/auprc_trapz/auroc
LOCALIZATION_METRICS = ("iou_otsu", "iou_tuned", "hit", "mass", "rank", "topk")


def _load_maps(path, rows: pd.DataFrame) -> np.ndarray:
    """A map stack, checked against its sidecar's image ids when there is one."""
    maps = io.load_stack(path)
    if maps.shape[0] != len(rows):
        raise InputError(f"{path}: {maps.shape[0]} maps but {len(rows)} rows are expected")
    side = Path(path).with_suffix(".json")
    if side.is_file():
        ids = json.loads(side.read_text()).get("image_ids")
        if ids is not None and list(map(str, ids)) != rows["image_id"].astype(str).tolist():
            raise InputError(f"{side}: its image ids differ from the positive test rows")
    return np.asarray(maps, dtype=np.float32)


def cross_fitted_iou(maps: np.ndarray, masks: np.ndarray, seed: int) -> np.ndarray:
    """IoU at a threshold tuned (max mean IoU) on the other half of the images."""
    n = maps.shape[0]
    out = np.full(n, np.nan)
    if n < 2:
        return out
    order = np.random.default_rng(seed).permutation(n)
    halves = (order[: n // 2], order[n // 2 :])
    for test, train in (halves, halves[::-1]):
        if not masks[train].any():
            continue
        t = M.tune_threshold(maps[train], masks[train])
        out[test] = M.iou(M.threshold_masks(maps[test], t), masks[test])
    return out


def utility_values(
    maps: np.ndarray, masks: np.ndarray, *, seed: int, topk_fraction: float, otsu=None
):
    """Every per-image utility and localization metric of ``maps`` against ``masks``
    (``otsu``: the maps' Otsu segmentations when the caller has them already)."""
    values = dict(M.utility_scores(maps, masks))
    otsu = M.otsu_threshold_masks(maps) if otsu is None else otsu
    values["iou_otsu"] = M.iou(otsu, masks)
    values["iou_tuned"] = cross_fitted_iou(maps, masks, seed)
    values["hit"] = M.pointing_hit(maps, masks)
    values["mass"] = M.relevance_mass_accuracy(maps, masks)
    values["rank"] = M.relevance_rank_accuracy(maps, masks)
    k = M.default_topk(maps.shape[1] * maps.shape[2], topk_fraction)
    values["topk"] = M.topk_intersection(maps, masks, k=k)
    return values


def method_metrics_job(
    *,
    dataset: str,
    method: str,
    positives,
    masks,
    saliency: dict[str, str],
    randomization: dict[str, dict[str, str]],
    agreement: dict[str, tuple[str, str]],
    out_csv,
    out_segmentations,
    ssim_window: int,
    ssim_data_range: float,
    random_pairs: int,
    topk_fraction: float,
    seed: int,
    log: logging.Logger,
) -> None:
    """All metrics of one method. ``saliency``: model -> maps; ``randomization``: model ->
    {step -> maps} (cascade steps top-down first); ``agreement``: name -> (model a, model b)."""
    rows = read_rows(positives)
    sampled = rows["sampled"].to_numpy(bool)
    ids = rows["image_id"].tolist()
    sample_ids = rows.loc[sampled, "image_id"].tolist()
    gt = np.asarray(io.load_stack(masks)[rows["index"].to_numpy()]) > 0
    sim = {"win_size": ssim_window, "data_range": ssim_data_range}
    frames, segmentations = [], {}
    maps = {m: _load_maps(p, rows) for m, p in saliency.items()}
    for model, stack in maps.items():
        otsu = M.otsu_threshold_masks(stack)
        vals = utility_values(stack, gt, seed=seed, topk_fraction=topk_fraction, otsu=otsu)
        frames.append(
            M.tidy_frame(
                vals, dataset=dataset, model=model, method=method, step="trained", image_ids=ids
            )
        )
        segmentations[model] = dict(zip(ids, M.encode_coco_rle(otsu), strict=True))
        log.info(
            "%s %s utility: mean AUPRC %.3f over %d images",
            method,
            model,
            np.nanmean(vals["auprc"]),
            len(ids),
        )
    sample_rows = rows[sampled]
    for model, steps in randomization.items():
        trained = maps[model][sampled]
        pairs = M.random_pair_baseline(trained, n_pairs=random_pairs, seed=seed, **sim)
        pair_ids = [
            f"{sample_ids[a]}|{sample_ids[b]}"
            for a, b in zip(pairs.image_a, pairs.image_b, strict=True)
        ]
        frames.append(
            M.tidy_frame(
                {"ssim": pairs["ssim"], "spearman": pairs["spearman"]},
                dataset=dataset,
                model=model,
                method=method,
                step="random_pairs",
                image_ids=pair_ids,
            )
        )
        last_cascade = [s for s in steps if s.startswith("cascade_")][-1:]
        for step, path in steps.items():
            stack = _load_maps(path, sample_rows.reset_index(drop=True))
            vals = M.similarity_scores(trained, stack, **sim)
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
                util = utility_values(stack, gt[sampled], seed=seed, topk_fraction=topk_fraction)
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
    for name, (a, b) in agreement.items():
        vals = M.similarity_scores(maps[a][sampled], maps[b][sampled], **sim)
        frames.append(
            M.tidy_frame(
                vals,
                dataset=dataset,
                model=name,
                method=method,
                step="trained",
                image_ids=sample_ids,
            )
        )
        log.info("%s %s (%s vs %s): mean SSIM %.3f", method, name, a, b, np.nanmean(vals["ssim"]))
    io.write_csv(out_csv, M.concat_tidy(frames), index=False)
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
    """The AVG baseline: mean of the train and validation masks (float in [0, 1])."""
    idx = pd.read_csv(index, dtype={"image_id": str})
    table = load_split(split)
    merged = idx.merge(table, on="image_id", validate="one_to_one")
    rows = merged.loc[merged["split"].isin(["train", "val"]), "index"].to_numpy()
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
    baselines: dict[str, tuple[str, str]],
    out_csv,
    ssim_window: int,
    ssim_data_range: float,
    topk_fraction: float,
    seed: int,
    log: logging.Logger,
) -> None:
    """Utility of AVG and of each localisation baseline replicate; agreement of the first two
    replicates. ``baselines``: model id -> (maps.npy, maps_rows.csv)."""
    rows = read_rows(positives)
    sampled = rows["sampled"].to_numpy(bool)
    ids = rows["image_id"].tolist()
    gt = np.asarray(io.load_stack(masks)[rows["index"].to_numpy()]) > 0
    frames = []
    avg = np.broadcast_to(average_mask(masks, index, split), gt.shape)
    vals = utility_values(np.ascontiguousarray(avg), gt, seed=seed, topk_fraction=topk_fraction)
    frames.append(
        M.tidy_frame(
            vals, dataset=dataset, model="AVG", method="AVG", step="trained", image_ids=ids
        )
    )
    log.info("AVG utility: mean AUPRC %.3f", np.nanmean(vals["auprc"]))
    stacks = {}
    for model, (maps_path, rows_path) in baselines.items():
        brow = pd.read_csv(rows_path, dtype={"image_id": str})
        pos = {i: r for r, i in zip(brow["row"], brow["image_id"], strict=True)}
        missing = [i for i in ids if i not in pos]
        if missing:
            raise InputError(f"{rows_path}: no map for positive test image(s) {missing[:3]}")
        stack = np.asarray(io.load_stack(maps_path)[[pos[i] for i in ids]], np.float32)
        stacks[model] = stack
        vals = utility_values(stack, gt, seed=seed, topk_fraction=topk_fraction)
        frames.append(
            M.tidy_frame(
                vals, dataset=dataset, model=model, method=label, step="trained", image_ids=ids
            )
        )
        log.info("%s utility: mean AUPRC %.3f", model, np.nanmean(vals["auprc"]))
    names = list(stacks)
    if len(names) >= 2:
        sim = M.similarity_scores(
            stacks[names[0]][sampled],
            stacks[names[1]][sampled],
            win_size=ssim_window,
            data_range=ssim_data_range,
        )
        sample_ids = rows.loc[sampled, "image_id"].tolist()
        for name in ("repeatability", "reproducibility"):
            frames.append(
                M.tidy_frame(
                    sim,
                    dataset=dataset,
                    model=name,
                    method=label,
                    step="trained",
                    image_ids=sample_ids,
                )
            )
        log.info("%s vs %s: mean SSIM %.3f", names[0], names[1], np.nanmean(sim["ssim"]))
    io.write_csv(out_csv, M.concat_tidy(frames), index=False)
