"""Jobs of the cheXlocalize protocol (:mod:`saliency_audit.localize`).

- :func:`localize_maps_job` (one per classifier, TensorFlow): the maps of the images the
  protocol needs beyond the positive test images (validation images to tune the thresholds on,
  negative test images to evaluate on), for the protocol's methods, with the same noise seeds
  as the model's main maps; and the classifier's probability of every validation and test
  image.
- :func:`localize_job` (one per dataset, CPU): thresholds and probability cutoffs tuned on
  validation, segmentations of the test images, per-image IoU / hit, summaries with bootstrap
  CIs on the evaluation slices, ensembles, comparisons with the localiser and (where the
  dataset ships one) a human benchmark, pathology characteristics and their regressions, the
  figure, cheXlocalize JSON files and the report section.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from saliency_audit import io, provenance
from saliency_audit.convert import read_index, scorable
from saliency_audit.errors import InputError
from saliency_audit.localize import features as F
from saliency_audit.localize import interop
from saliency_audit.localize import protocol as L
from saliency_audit.metrics.localization import pointing_hit
from saliency_audit.split import load_split, read_positives

#: the images each need brings in (besides the positive test images): key -> (split, label)
NEEDS = {
    "val_positives": ("val", 1),
    "val_negatives": ("val", 0),
    "test_negatives": ("test", 0),
}


def needs(settings: Mapping) -> dict[str, bool]:
    """Which images beyond the positive test images the protocol's settings need maps of:
    validation positives to tune a threshold or a cutoff on, validation negatives for the
    cutoff, test negatives to evaluate on every test image."""
    gating = bool(settings["gating"])
    return {
        "val_positives": settings["threshold"] == "validation" or gating,
        "val_negatives": gating,
        "test_negatives": settings["evaluate_on"] == "all",
    }


def protocol_images(index, split, need: Mapping[str, bool]) -> pd.DataFrame:
    """The rows (``index, image_id, split, label``) of the images ``need`` asks for, in stack
    order; positives without ground truth take no part (they cannot be scored)."""
    merged = read_index(index).merge(load_split(split), on="image_id", validate="one_to_one")
    keep = np.zeros(len(merged), dtype=bool)
    for key, (name, label) in NEEDS.items():
        if need.get(key):
            keep |= ((merged["split"] == name) & (merged["label"] == label)).to_numpy()
    keep &= scorable(merged).to_numpy()
    rows = merged.loc[keep, ["index", "image_id", "split", "label"]]
    return rows.sort_values("index").reset_index(drop=True)


COMPARISON_COLUMNS = [
    "model",
    "method",
    "benchmark",
    "slice",
    "metric",
    "value",
    "benchmark_value",
    "difference",
    "difference_lo",
    "difference_hi",
    "pct_decrease",
    "pct_decrease_lo",
    "pct_decrease_hi",
]


# ----------------------------------------------------------------------------- maps job
def protocol_maps(
    model,
    ctx,
    stack,
    *,
    index,
    split,
    need: Mapping[str, bool],
    tasks: list,
    out_probabilities,
    log: logging.Logger,
) -> None:
    """With a loaded ``model`` and its compiled-function cache ``ctx`` (image size and batch
    are the context's): maps of
    :func:`protocol_images` for each task (a ``MapTask`` per protocol method, the main maps'
    seed) and ``probabilities.csv`` (``image_id, split, label, logit, probability``) of every
    validation and test image."""
    from saliency_audit.jobs.saliency import _engine, _write
    from saliency_audit.models.classifier import predict_logits
    from saliency_audit.models.evaluate import evaluation_table

    size, batch_size = ctx.size, ctx.fixed_batch
    rows = protocol_images(index, split, need)
    table = read_index(index).merge(load_split(split), on="image_id", validate="one_to_one")
    counts = rows.groupby(["split", "label"]).size().to_dict()
    log.info("protocol images beyond the positive test images: %s", counts or "none")
    for task in tasks:
        if rows.empty:
            with io.atomic_path(task.out_maps) as tmp:
                np.save(tmp, np.zeros((0, size, size), dtype=np.float16))
            io.write_json(task.out_json, {"method": task.method, "image_ids": [], "indices": []})
            continue
        engine = _engine(ctx, task, batch_size=batch_size)
        summary = _write(engine, task, stack, rows, {"phase": rows["split"].tolist()}, log.info)
        log.info("%s: %d protocol maps in %.1f s", task.method, summary["n"], summary["seconds"])
    scored = table[table["split"].isin(["val", "test"])].sort_values("index")
    logits = predict_logits(model, stack, scored["index"].to_numpy(), batch_size)
    probs = evaluation_table(scored["image_id"].to_numpy(), scored["label"].to_numpy(), logits)
    probs.insert(1, "split", scored["split"].to_numpy())
    io.write_csv(out_probabilities, probs, index=False)
    log.info("probabilities of %d validation and test images", len(probs))


def localize_maps_job(*, images, classifier: dict, log: logging.Logger, **protocol) -> None:
    """:func:`protocol_maps` as a job of its own (``saliency.jobs: per_method``; per model,
    the saliency job makes them with the model it has loaded). ``classifier``:
    :func:`~saliency_audit.jobs.saliency.loaded`'s arguments."""
    from saliency_audit.jobs.saliency import loaded

    stack = io.load_stack(images)
    model, ctx = loaded(**classifier, log=log)
    protocol_maps(model, ctx, stack, log=log, **protocol)


# ----------------------------------------------------------------------------- evaluation
def _load_checked(files: Mapping[str, str], ids: list[str]) -> np.ndarray:
    maps = np.asarray(io.load_stack(files["maps"]), dtype=np.float32)
    with open(files["meta"]) as fh:
        have = [str(i) for i in json.load(fh).get("image_ids", [])]
    if have != ids or maps.shape[0] != len(ids):
        raise InputError(
            f"{files['meta']}: its {len(have)} image ids differ from the {len(ids)} images "
            "the protocol expects (rerun the job that wrote it)"
        )
    return maps


def _probabilities(path, ids: list[str]) -> np.ndarray:
    table = pd.read_csv(path, dtype={"image_id": str}).set_index("image_id")["probability"]
    missing = [i for i in ids if i not in table.index]
    if missing:
        raise InputError(f"{path}: no probability for image(s) {missing[:3]}")
    return table.loc[ids].to_numpy(np.float64)


def _resize_masks(masks: np.ndarray, size: int) -> np.ndarray:
    from saliency_audit.imageops import resize_mask

    if masks.shape[1:] == (size, size):
        return masks.astype(bool)
    return np.stack([resize_mask(m, (size, size)) > 0 for m in masks]).astype(bool)


def _human(path, finding: str, ids: list[str], size: int, log) -> np.ndarray:
    """The human benchmark's masks of ``ids`` (an image the file lacks: an empty mask, as
    cheXlocalize's ``eval.py`` reads a missing prediction), at the model's size."""
    present, masks = interop.read_segmentations(path, finding, ids, skip_absent=True)
    if not present:
        raise InputError(f"{path}: none of the {len(ids)} evaluated test images is in it")
    out = np.zeros((len(ids), size, size), dtype=bool)
    pos = {i: k for k, i in enumerate(ids)}
    for image_id, m in zip(present, _resize_masks(masks, size), strict=True):
        out[pos[image_id]] = m
    log.info("human benchmark: %d of %d evaluated images in %s", len(present), len(ids), path)
    return out


def _scores(maps, seg, gt) -> dict[str, np.ndarray]:
    """Per-image ``iou`` (NaN only where both are empty), ``hit`` (NaN without ground truth),
    ``blank`` and ``has_gt``; the slices are subsets of these rows."""
    has_gt = gt.reshape(len(gt), -1).any(axis=1)
    return {
        "iou": L.iou_values(seg, gt, "all"),
        "hit": pointing_hit(np.asarray(maps, dtype=np.float32), gt),  # NaN without gt
        "blank": ~seg.reshape(len(seg), -1).any(axis=1),
        "has_gt": has_gt,
    }


def slice_rows(frame: pd.DataFrame, slice_: str) -> pd.Series:
    """The rows of a per-image table (columns ``has_gt``, ``blank``) in an evaluation slice."""
    return pd.Series(L.slice_mask(frame["has_gt"], frame["blank"], slice_), index=frame.index)


def _slice_values(frame: pd.DataFrame, column: str, slice_: str) -> np.ndarray:
    """``column`` over every evaluated image, NaN outside the slice (hit: NaN without gt)."""
    return frame[column].where(slice_rows(frame, slice_)).to_numpy(np.float64)


def localize_job(
    *,
    dataset: str,
    finding: str,
    positives,
    masks,
    index,
    split,
    models: Mapping[str, Mapping],
    ensembles: Mapping[str, list[str]],
    benchmarks: Mapping[str, Mapping[str, str]],
    human,
    settings: Mapping,
    primary: str,
    out: Mapping[str, str],
    out_segmentations: Mapping[str, Mapping[str, str]],
    log: logging.Logger,
) -> None:
    """The protocol on one dataset. ``models``: model -> {"probabilities": csv, "maps": method
    -> {"test": map files of the positive test images, "extra": of the protocol images}};
    ``ensembles``: name -> replicate models; ``benchmarks``: localiser -> {"maps", "rows"};
    ``human``: a cheXlocalize JSON of the human benchmark or None; ``out``: per_image,
    thresholds, summary, comparisons, regressions, section, figure, ground_truth."""
    s = dict(settings)
    slice_ = s["evaluate_on"]
    need = needs(s)
    pos = read_positives(positives)
    extra = protocol_images(index, split, need)
    gt_stack = io.load_stack(masks)
    size = int(gt_stack.shape[1])
    val = extra[extra["split"] == "val"]
    test_neg = extra[extra["split"] == "test"]
    test = pd.concat(
        [pos[["index", "image_id"]], test_neg[["index", "image_id"]]], ignore_index=True
    )
    test_ids = test["image_id"].astype(str).tolist()
    gt_test = np.asarray(gt_stack[test["index"].to_numpy()]) > 0
    gt_val = np.asarray(gt_stack[val["index"].to_numpy()]) > 0
    extra_ids = extra["image_id"].astype(str).tolist()
    in_val = (extra["split"] == "val").to_numpy()
    val_pos = val["label"].to_numpy() == 1
    n_pos = len(pos)
    log.info(
        "%s: %d positive and %d negative test images evaluated; %d validation images "
        "(%d positive) for tuning",
        dataset,
        n_pos,
        len(test_neg),
        len(val),
        int(val_pos.sum()),
    )
    if s["threshold"] == "validation" and not val_pos.any():
        raise InputError(
            f"dataset {dataset!r}: config key localize.threshold is 'validation' but the "
            "validation split has no positive image with ground truth; set it to cross_fit "
            "(tuned on the other half of the test images) or otsu"
        )

    # every model's maps (test positives + extra), probabilities; then the ensembles
    maps: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    probs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pos_ids = pos["image_id"].astype(str).tolist()
    for model, spec in models.items():
        p = _probabilities(spec["probabilities"], val["image_id"].astype(str).tolist() + test_ids)
        probs[model] = (p[: len(val)], p[len(val) :])
        maps[model] = {}
        for method, files in spec["maps"].items():
            main = _load_checked(files["test"], pos_ids)
            more = _load_checked(files["extra"], extra_ids)
            maps[model][method] = (more[in_val], np.concatenate([main, more[~in_val]]))
    for name, members in ensembles.items():
        probs[name] = tuple(np.mean([probs[m][k] for m in members], axis=0) for k in (0, 1))
        maps[name] = {
            method: tuple(L.ensemble([maps[m][method][k] for m in members]) for k in (0, 1))
            for method in maps[members[0]]
        }
        log.info("ensemble %s: the mean of %s's normalised maps", name, ", ".join(members))

    boot_pos = L.bootstrap_indices(n_pos, s["n_boot"], s["seed"])
    boot_all = L.bootstrap_indices(len(test), s["n_boot"], s["seed"])
    boot = boot_all if slice_ == "all" else boot_pos
    frames, thresholds, summary = [], [], []

    def summarise(model, method, frame, seg, role):
        for sl in [x for x in L.SLICES if x != "all" or need["test_negatives"]]:
            rows = slice_rows(frame, sl).to_numpy()
            idx = boot_all if sl == "all" else boot_pos
            n = len(frame) if sl == "all" else n_pos
            ious = _slice_values(frame, "iou", sl)[:n]
            hits = _slice_values(frame, "hit", sl)[:n]
            rates = L.pixel_rates(seg, gt_test, rows)
            where = {"model": model, "method": method, "role": role, "slice": sl}
            for metric, values in (("miou", ious), ("hit_rate", hits)):
                summary.append({**where, "metric": metric, **L.mean_ci(values, idx, s["level"])})
            for metric, value in rates.items():
                summary.append(
                    {
                        **where,
                        "metric": metric,
                        "mean": value,
                        "lo": np.nan,
                        "hi": np.nan,
                        "n": int(rows.sum()),
                    }
                )

    for model, by_method in maps.items():
        p_val, p_test = probs[model]
        for method, (m_val, m_test) in by_method.items():
            scheme = s["threshold"]
            t_each = None
            if scheme == "validation":
                t = L.tune_segmentation_threshold(m_val[val_pos], gt_val[val_pos], s["grid"])
                seg_val = L.segment(m_val, t)
                seg = L.segment(m_test, t)
            elif scheme == "otsu":
                t = None
                seg_val = L.segment(m_val, None)
                seg = L.segment(m_test, None)
            else:
                seg, t_each = L.cross_fit_segment(m_test, gt_test, s["seed"], s["grid"])
                t = float(np.nanmedian(t_each)) if not np.isnan(t_each).all() else None
                seg_val = L.segment(m_val, t)
            cutoff = None
            if s["gating"]:
                cutoff = L.tune_probability_cutoff(seg_val, gt_val, p_val, s["probability_grid"])
                seg = L.gate(seg, p_test, cutoff)
            thresholds.append(
                {
                    "model": model,
                    "method": method,
                    "scheme": scheme,
                    "threshold": np.nan if t is None else t,
                    "probability_cutoff": np.nan if cutoff is None else cutoff,
                    "val_positives": int(val_pos.sum()),
                    "val_images": len(val),
                    "val_miou": float(
                        np.nanmean(L.iou_values(seg_val[val_pos], gt_val[val_pos], "positives"))
                    )
                    if val_pos.any()
                    else np.nan,
                }
            )
            sc = _scores(m_test, seg, gt_test)
            frame = pd.DataFrame(
                {
                    "model": model,
                    "method": method,
                    "image_id": test_ids,
                    "probability": p_test,
                    **sc,
                }
            )
            if t_each is not None:
                frame["threshold"] = t_each
            frames.append(frame)
            summarise(model, method, frame, seg, "saliency")
            interop.write_segmentations(out_segmentations[model][method], test_ids, seg, finding)
            log.info(
                "%s %s: threshold %s, cutoff %s; mIoU %.3f, hit rate %.3f (%s)",
                model,
                method,
                "Otsu per map" if t is None else f"{t:.2f}",
                "none" if cutoff is None else f"{cutoff:.1f}",
                np.nanmean(_slice_values(frame, "iou", slice_)),
                np.nanmean(_slice_values(frame, "hit", slice_))
                if frame["has_gt"].any()
                else np.nan,
                slice_,
            )

    # benchmarks: the localiser (its own output above a fixed threshold), the human readers
    bench_frames = {}
    for name, files in benchmarks.items():
        rows = pd.read_csv(files["rows"], dtype={"image_id": str})
        at = dict(zip(rows["image_id"], rows["row"], strict=True))
        missing = [i for i in test_ids if i not in at]
        if missing:
            raise InputError(f"{files['rows']}: no map for test image(s) {missing[:3]}")
        bmaps = np.asarray(io.load_stack(files["maps"])[[at[i] for i in test_ids]], np.float32)
        seg = bmaps > np.float32(s["benchmark_threshold"])
        bench_frames[name] = (
            files.get("label", name),
            pd.DataFrame({"image_id": test_ids, **_scores(bmaps, seg, gt_test)}),
            seg,
        )
    if human is not None:
        seg = _human(human, finding, test_ids, size, log)
        sc = _scores(seg.astype(np.float32), seg, gt_test)
        sc["hit"] = np.full(len(test_ids), np.nan)  # needs the readers' points (not read)
        bench_frames["HUMAN"] = ("HUMAN", pd.DataFrame({"image_id": test_ids, **sc}), seg)
    for name, (label, frame, seg) in bench_frames.items():
        frame.insert(0, "model", name)
        frame.insert(1, "method", label)
        frame.insert(3, "probability", np.nan)
        frames.append(frame)
        summarise(name, label, frame, seg, "benchmark")

    per_image = pd.concat(frames, ignore_index=True)
    comparisons = []
    n = len(test) if slice_ == "all" else n_pos
    for (model, method), frame in per_image.groupby(["model", "method"], sort=False):
        if model in bench_frames:
            continue
        frame = frame.reset_index(drop=True)
        for bench, (_, bframe, _) in bench_frames.items():
            for metric, column in (("miou", "iou"), ("hit_rate", "hit")):
                a = _slice_values(frame, column, slice_)[:n]
                b = _slice_values(bframe, column, slice_)[:n]
                if np.isnan(b).all() or np.isnan(a).all():
                    continue
                comparisons.append(
                    {
                        "model": model,
                        "method": method,
                        "benchmark": bench,
                        "slice": slice_,
                        "metric": metric,
                        **L.compare(a, b, boot, s["level"]),
                    }
                )

    # why localisation fails: characteristics of the ground truth, the probability
    feats = F.features_table(gt_test[:n_pos], pos_ids)
    saliency_rows = per_image[~per_image["model"].isin(list(bench_frames))]
    evaluated = saliency_rows[slice_rows(saliency_rows, slice_) & saliency_rows["has_gt"]]
    merged = evaluated.merge(feats, on="image_id", how="left")
    regressions = F.regressions(merged, alpha=1 - s["level"])

    from saliency_audit.figures.characteristics import figure_characteristics

    figure_characteristics(
        merged,
        out["figure"],
        model=primary,
        title=f"{dataset}: localisation against pathology characteristics ({primary}, "
        f"{slice_.replace('_', ' ')})",
    )
    interop.write_segmentations(out["ground_truth"], test_ids, gt_test, finding)
    stamp = provenance.stamp()
    tables = {
        "per_image": per_image.merge(feats, on="image_id", how="left"),
        "thresholds": pd.DataFrame(thresholds),
        "summary": pd.DataFrame(summary),
        "comparisons": pd.DataFrame(comparisons, columns=COMPARISON_COLUMNS),
        "regressions": regressions,
    }
    for name, table in tables.items():
        table = table.assign(dataset=dataset, **stamp)
        io.write_csv(out[name], table, index=False)
    from saliency_audit.localize.report import section

    io.write_text(
        out["section"],
        section(
            dataset=dataset,
            finding=finding,
            settings=s,
            thresholds=tables["thresholds"],
            summary=tables["summary"],
            comparisons=tables["comparisons"],
            regressions=regressions,
            primary=primary,
        ),
    )
