"""Jobs of the trust tests beyond the paper: faithfulness curves, the planted-shortcut
benchmark (data, verdicts, table, figure, summary section).

The data randomization test needs no job of its own: its classifier is trained by
:func:`saliency_audit.jobs.models.train_classifier_job` with ``permute_seed``, its maps are
made by :func:`saliency_audit.jobs.saliency.saliency_job` on the sample, and its SSIM rows are
a randomization step (:data:`~saliency_audit.vocabulary.PERMUTED_LABELS`) of the metric jobs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from saliency_audit import io
from saliency_audit import metrics as M
from saliency_audit.jobs.metrics import load_maps, write_metrics
from saliency_audit.split import read_positives, write_split_csv
from saliency_audit.vocabulary import FAITHFULNESS, RANDOM_ORDER, SHORTCUT_VARIANTS, TRAINED

# ------------------------------------------------------------------------------ faithfulness


def training_mean(images, index, split) -> float:
    """The training images' mean pixel in model-input units ([-1, 1])."""
    from saliency_audit.jobs.models import load_data

    data = load_data(images, index, split)
    rows = data.rows("train")
    total = sum(float(np.asarray(data.images[r], np.float64).sum()) for r in rows)
    n = rows.size * int(np.prod(data.images.shape[1:]))
    return total / max(n, 1) / 127.5 - 1.0


def faithfulness_job(
    *,
    dataset: str,
    model_name: str,
    images,
    index,
    split,
    positives,
    maps: Mapping[str, Mapping[str, str]],
    settings: dict,
    ranking_map: str,
    seed: int,
    out_csv,
    out_curves,
    out_figure,
    log: logging.Logger,
    **classifier,
) -> None:
    """Deletion, insertion and ROAD curves of one model's maps (``maps``: method -> map files)
    on the sampled positive test images (``settings["images"]``: ``sample``) or all of them
    (``positives``), each with a random pixel order of the same image; the areas
    as tidy rows (``method`` :data:`RANDOM_ORDER` for the random order), the mean curves and
    their figure."""
    from saliency.core.base import OUTPUT_LAYER_VALUES

    from saliency_audit.jobs.saliency import loaded
    from saliency_audit.trust import faithfulness as F

    rows = read_positives(positives)
    keep = rows["sampled"].astype(bool) if settings["images"] == "sample" else rows["index"] >= 0
    stack = io.load_stack(images)
    size = stack.shape[1]
    mean = training_mean(images, index, split) if settings["replacement"] == "mean" else 0.0
    key = "raw" if ranking_map == "raw" else "maps"
    stacks = {m: load_maps(files, rows, key)[keep.to_numpy()] for m, files in maps.items()}
    rows = rows[keep].reset_index(drop=True)
    backend, ctx = loaded(**classifier, log=log)
    forward = ctx.function("forward", ctx.fixed_batch)  # compiled once, padded batches

    def predict(gray):
        x = np.repeat(np.asarray(gray, np.float32)[..., None], 3, axis=-1)
        return np.asarray(forward.run(x)[OUTPUT_LAYER_VALUES], np.float64).reshape(-1)

    common = dict(
        steps=settings["steps"],
        replacement=settings["replacement"],
        sigma=settings["blur_sigma"] * size,
        mean=mean,
        road_noise=settings["road_noise"],
    )
    grid, road_grid = F.fractions(settings["steps"]), F.fractions(settings["steps"], road=True)
    values: dict[str, dict[str, list]] = {}
    curves: list[dict] = []
    t0 = time.perf_counter()
    for i, (row, image_id) in enumerate(zip(rows["index"], rows["image_id"], strict=True)):
        image = np.asarray(stack[row], np.float64) / 127.5 - 1.0
        rng = np.random.default_rng([seed, int(row)])
        tie_key = rng.random(image.shape)  # one tie-break for every method of this image
        orders = {m: F.pixel_order(np.abs(s[i]), tie_key) for m, s in stacks.items()}
        orders[RANDOM_ORDER] = F.random_order(image.size, rng)
        result = F.image_curves(predict, image, orders, seed=int(rng.integers(2**31)), **common)
        # the explained class: the positive one, or the one the model predicts for the image
        # (whose logit starts every deletion curve)
        own = float(result[RANDOM_ORDER]["deletion"][0])
        sign = 1.0 if ctx.positive_class or own >= 0 else -1.0
        for name, per_curve in result.items():
            for curve, logits in per_curve.items():
                z = sign * logits
                fr = road_grid if curve == "road" else grid
                metric = FAITHFULNESS[curve][0]
                values.setdefault(name, {}).setdefault(metric, []).append(F.area(z, fr))
                curves += [
                    {
                        "method": name,
                        "curve": curve,
                        "image_id": image_id,
                        "fraction": f,
                        "logit": v,
                    }
                    for f, v in zip(fr, z, strict=True)
                ]
        done = i + 1
        rate = done / max(time.perf_counter() - t0, 1e-9)
        log.info(
            "%d/%d images (%.2f images/s, %d orders x 3 curves)", done, len(rows), rate, len(orders)
        )
    ids = rows["image_id"].tolist()
    frames = [
        M.tidy_frame(
            {k: np.asarray(v) for k, v in per_metric.items()},
            dataset=dataset,
            model=model_name,
            method=name,
            step=TRAINED,
            image_ids=ids,
        )
        for name, per_metric in values.items()
    ]
    write_metrics(out_csv, frames)
    table = pd.DataFrame(curves)
    io.write_csv(out_curves, table, index=False)
    from saliency_audit.figures.faithfulness import figure_faithfulness

    figure_faithfulness(
        table,
        out_figure,
        title=f"{dataset}: faithfulness of {model_name}'s maps ({settings['replacement']} "
        "replacement; ROAD: noisy linear imputation)",
    )
    for name, per_metric in values.items():
        log.info(
            "%s: %s",
            name,
            ", ".join(f"{k} {np.nanmean(v):.3f}" for k, v in per_metric.items()),
        )


# ------------------------------------------------------------------------- shortcut benchmark


def shortcut_data_job(*, settings: dict, out_size: int, seed: int, out: dict, log) -> None:
    """The benchmark's data in the converted layout (``out``: name -> path for ``images``,
    ``clean``, ``masks``, ``marker``, ``index``, ``split``, ``positives``)."""
    from saliency_audit.trust.shortcut import make_data

    keys = ("n_images", "positive_rate", "size", "lesion", "marker_rate", "test_marker")
    data = make_data(
        **{k: settings[k] for k in keys},
        fractions=settings["fractions"],
        out_size=out_size,
        seed=seed,
        log=log,
    )
    for name in ("images", "clean", "masks", "marker"):
        with io.open_memmap_atomic(out[name], data[name].shape, np.uint8) as arr:
            arr[:] = data[name]
    index = data["index"]
    io.write_csv(out["index"], index.drop(columns=["split"]), index=False)
    write_split_csv(index[["image_id", "split"]], out["split"])
    test_pos = index[(index["split"] == "test") & (index["label"] == 1)]
    io.write_csv(
        out["positives"],
        pd.DataFrame(
            {"index": test_pos["index"], "image_id": test_pos["image_id"], "sampled": True}
        ),
        index=False,
    )
    counts = index.groupby(["split", "label"])["marker"].agg(["size", "sum"])
    for (split, label), r in counts.iterrows():
        log.info("%s label %d: %d images, %d with the marker", split, label, r["size"], r["sum"])


def shortcut_regions(data: dict) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The positive test rows and their lesion and marker regions (``bool (n, S, S)``)."""
    rows = read_positives(data["positives"])
    idx = rows["index"].to_numpy()
    masks = np.asarray(io.load_stack(data["masks"])[idx]) > 0
    marker = np.asarray(io.load_stack(data["marker"])[idx]) > 0
    return rows, masks, marker


def shortcut_scores(
    *, maps: Mapping[str, Mapping[str, Mapping[str, str]]], regions, ranking_map: str, params
) -> pd.DataFrame:
    """Tidy rows (``model`` the variant) of marker share, lesion share and the utility metrics
    of every variant's maps (``maps``: variant -> method -> map files; ``regions``:
    :func:`shortcut_regions`)."""
    rows, masks, marker = regions
    from saliency_audit.trust.shortcut import attribution_shares

    frames = []
    for variant, per_method in maps.items():
        for method, files in per_method.items():
            if ranking_map == "raw":  # ranking metrics read |raw| (as score_maps)
                ranked = np.abs(load_maps(files, rows, "raw"))
            else:
                ranked = load_maps(files, rows)
            vals = attribution_shares(ranked, masks, marker)
            vals["auprc"] = M.score(["auprc"], ranked, masks, params)["auprc"]
            frames.append(
                M.tidy_frame(
                    vals,
                    dataset="shortcut",
                    model=variant,
                    method=method,
                    step=TRAINED,
                    image_ids=rows["image_id"].tolist(),
                )
            )
    return M.concat_tidy(frames)


#: the benchmark's criteria: metric -> (criterion, higher for the shortcut model is "told")
SHORTCUT_CRITERIA = {
    "marker_share": ("exposes_shortcut", True),
    "lesion_share": ("lesion_share_drop", False),
    "auprc": ("utility_drop", False),
}


def shortcut_verdicts(scores: pd.DataFrame, options) -> pd.DataFrame:
    """Per method and criterion: the shortcut model's maps against the clean model's on the
    same images (paired). ``exposes_shortcut`` passes when the marker share is significantly
    higher for the shortcut model; the two others when its lesion share / utility is
    significantly lower (the test tells the wrong model from the right one)."""
    from saliency_audit.stats import paired_verdicts

    shortcut, clean = SHORTCUT_VARIANTS
    parts = []
    for metric, (criterion, higher) in SHORTCUT_CRITERIA.items():
        a, b = (shortcut, clean) if higher else (clean, shortcut)
        v = paired_verdicts(
            scores[scores["model"] == a],
            scores[scores["model"] == b],
            metric=metric,
            criterion=criterion,
            condition=a,
            baseline=b,
            options=options,
        )
        parts.append(v)
    return pd.concat(parts, ignore_index=True)


def shortcut_benchmark_job(
    *,
    maps,
    data: dict,
    classifiers: Mapping[str, str],
    ranking_map: str,
    params,
    options,
    settings: dict,
    out: dict,
    log: logging.Logger,
) -> None:
    """Scores, verdicts, the benchmark's table (CSV), its summary section (Markdown) and its
    figure. ``classifiers``: variant -> its ``test_metrics.json``."""
    import json

    from saliency_audit.trust.report import shortcut_figure, shortcut_section

    regions = shortcut_regions(data)
    scores = shortcut_scores(maps=maps, regions=regions, ranking_map=ranking_map, params=params)
    write_metrics(out["scores"], [scores])
    verdicts = shortcut_verdicts(scores, options)
    io.write_csv(out["verdicts"], verdicts, index=False)
    aurocs = {}
    for variant, path in classifiers.items():
        with open(path) as fh:
            aurocs[variant] = json.load(fh)
    io.write_text(out["section"], shortcut_section(scores, verdicts, aurocs, settings))
    _, masks, marker = regions
    area = {"marker_share": float(marker.mean()), "lesion_share": float(masks.mean())}
    shortcut_figure(scores, verdicts, out["figure"], area=area)
    for _, r in verdicts.iterrows():
        log.info(
            "%s %s: %s (%s %.3f vs %s %.3f, p_adj %.3g)",
            r["criterion"],
            r["target"],
            r["verdict"],
            r["condition"],
            r["target_mean"],
            r["baseline"],
            r["baseline_mean"],
            r["p_adj"],
        )
