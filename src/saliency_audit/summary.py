"""The Markdown scorecard and ``summary.md``: one verdict per (method, criterion) per dataset.

:func:`scorecard` turns the verdict rows of one dataset (from
:mod:`saliency_audit.stats.verdict`, concatenated over the criteria) into a Markdown table;
:func:`write_summary` writes ``summary.md`` with a "how to read this" paragraph, one section per
dataset and relative links to the figures.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from . import io
from .errors import InputError
from .stats.data import check_columns, method_order
from .stats.tables import criterion_label, format_number, markdown_table, model_utility_table
from .stats.verdict import CRITERIA

SCORECARD_COLUMNS = ("dataset", "criterion", "metric", "target", "baseline", "verdict")

HOW_TO_READ = """\
Each cell gives the verdict for one saliency method (row) and one criterion (column), followed by
the method's mean metric over the test images. The verdicts follow Arun et al. (2021): **pass** --
the method is significantly better than the baseline; **did not pass** -- significantly worse;
**uncertain** -- no significant difference (two-sided tests, alpha = 0.05, p-values adjusted for
the comparisons of each criterion; see the tables for estimates, confidence intervals and
p-values). For the randomization test lower is better: a method passes when the SSIM between its
maps from the trained and the fully randomized model is significantly below, or not significantly
different from, the randomization baseline ("a saliency map reached degradation and was classified
as a pass when the average SSIM was not significantly different or below the randomization
baseline"), and does not pass when it stays significantly above it (the map ignores the learned
weights). "Utility, trained vs fully randomized" passes when the trained model's maps localise
significantly better than the fully randomized model's (the paper: "the utility of the saliency
maps generated using the trained models was higher than the random models"). The further
contrasts (repeatability vs reproducibility; one architecture vs the other) read higher, lower or
no significant difference: they describe the methods, they are not trust criteria.

Baselines: the **low utility baseline (AVG)** is one average of all training and validation masks
or boxes, applied to every test image -- a bar any useful map should clear. The **high baseline**
is a network trained for the localization task itself (U-Net for segmentation, RetinaNet for
detection); for repeatability and reproducibility it is the SSIM between two separately trained
U-Nets or RetinaNets. The **randomization baseline** is the mean SSIM of random pairs of maps of
different images from the trained model, i.e. how similar two unrelated maps are. The **low
repeatability/reproducibility baseline** is SSIM = 0.5, the midpoint between structurally
dissimilar (0) and identical (1). Repeatability compares maps of two separately trained models of
the same architecture (InceptionV3 replicates); reproducibility compares maps of two
architectures (InceptionV3 vs DenseNet-121). Utility is measured with the pixel-level AUPRC (and
AUROC) of the map against the ground-truth mask or boxes.

Tests beyond the paper (where the configuration runs them, ``trust:``): **data randomization**
(Adebayo et al. 2018) reads like the randomization test, with a twin of the randomized model
trained on labels permuted within the training split in place of the re-drawn weights.
**Faithfulness** compares the area under the model's logit curve when pixels are removed
(deletion; ROAD: removed and filled by noisy linear imputation) or restored (insertion) in the
map's order with the same curve for a random pixel order of the same image: pass when the
map's order lowers the logit significantly faster (deletion, ROAD) or raises it faster
(insertion). The **planted-shortcut benchmark** (its own section) asks whether a method's maps
expose a classifier that learnt a marker instead of the lesion.
"""


def _rank(criterion: str) -> int:
    order = list(CRITERIA)
    return order.index(criterion) if criterion in order else len(order)


def _baseline_text(values: pd.Series, digits: int) -> str:
    vals = [float(v) for v in values if not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    if format_number(lo, digits) == format_number(hi, digits):
        return format_number(lo, digits)
    return f"{format_number(lo, digits)} to {format_number(hi, digits)} (per method)"


def scorecard(
    verdicts: pd.DataFrame,
    *,
    dataset: str | None = None,
    methods: Sequence[str] | None = None,
    digits: int = 2,
    support: dict[tuple[str, str, str, str], str] | None = None,
) -> str:
    """Markdown scorecard of one dataset: rows = methods, columns = criteria.

    ``support``: ``(criterion, metric, baseline, target)`` -> text added to that cell (e.g.
    ``2/3 classifiers``: how many classifier replicates or training seeds agree).

    ``verdicts``: rows from :func:`~saliency_audit.stats.verdict.utility_verdicts`,
    :func:`~saliency_audit.stats.verdict.randomization_verdicts` and
    :func:`~saliency_audit.stats.verdict.agreement_verdicts` (concatenated), with at least the
    columns ``dataset, criterion, metric, target, baseline, verdict`` and ``target_mean``
    (``baseline_mean``, ``step``, ``adjust``, ``alpha`` are used when present). Several datasets
    need ``dataset=``. Each cell: ``<verdict> (<mean metric of the method>)``; a last row gives
    the baselines' means.
    """
    check_columns(verdicts, [*SCORECARD_COLUMNS, "target_mean"], "verdicts table")
    v = verdicts.copy()
    for col in ("dataset", "criterion", "metric", "target", "baseline", "verdict"):
        v[col] = v[col].astype(str)
    datasets = list(dict.fromkeys(v["dataset"]))
    if dataset is None:
        if len(datasets) != 1:
            raise InputError(
                "verdicts table: column 'dataset' has "
                + (", ".join(datasets) if datasets else "no rows")
                + "; pass dataset= (the scorecard is for one dataset)"
            )
        dataset = datasets[0]
    v = v[v["dataset"] == str(dataset)]
    if v.empty:
        raise InputError(f"verdicts table: no rows with dataset == {dataset!r}")
    for col in ("step", "condition"):
        v[col] = v[col].fillna("").astype(str) if col in v.columns else ""
    if "baseline_mean" not in v.columns:
        v["baseline_mean"] = math.nan
    keys = v.drop_duplicates(["criterion", "metric", "baseline"])
    keys = sorted(keys.to_dict("records"), key=lambda r: _rank(r["criterion"]))
    headers = [
        criterion_label(k["criterion"], k["metric"], k["baseline"], k["step"], k["condition"])
        for k in keys
    ]
    rows = method_order(v["target"]) if methods is None else list(methods)
    table = pd.DataFrame("", index=pd.Index(rows, name="method"), columns=headers)
    base_row = []
    for k, h in zip(keys, headers, strict=True):
        part = v[
            (v["criterion"] == k["criterion"])
            & (v["metric"] == k["metric"])
            & (v["baseline"] == k["baseline"])
        ]
        for _, r in part.iterrows():
            if r["target"] in table.index:
                extra = (support or {}).get(
                    (k["criterion"], k["metric"], k["baseline"], r["target"])
                )
                mean = format_number(r["target_mean"], digits)
                table.loc[r["target"], h] = (
                    f"{r['verdict']} ({mean}{'; ' + extra if extra else ''})"
                )
        base_row.append(_baseline_text(part["baseline_mean"], digits))
    table.loc["*baseline mean*"] = base_row
    note = "Cells: verdict (mean of the method over the test images"
    note += "; agreement of replicates or seeds)." if support else ")."
    if "adjust" in v.columns and "alpha" in v.columns:
        adj = ", ".join(dict.fromkeys(v["adjust"].astype(str)))
        alphas = ", ".join(f"{float(a):g}" for a in dict.fromkeys(v["alpha"]))
        note += f" Significance: adjusted p-values ({adj}) below alpha = {alphas}."
    return markdown_table(table) + "\n" + note + "\n"


def verdict_cells(table: pd.DataFrame) -> dict[tuple[str, ...], str]:
    key = table[["criterion", "metric", "baseline", "target"]].astype(str).to_numpy()
    return {tuple(k): str(v) for k, v in zip(key, table["verdict"], strict=True)}


def agreement(verdicts: pd.DataFrame, others: list[pd.DataFrame]) -> dict:
    """``(criterion, metric, baseline, target)`` -> ``(k, n)``: of the ``n`` verdict tables
    ``others`` (other classifiers, or reruns with other training seeds) that have the cell,
    ``k`` give the same verdict as ``verdicts``."""
    other_cells = [verdict_cells(t) for t in others]
    out = {}
    for cell, verdict in verdict_cells(verdicts).items():
        seen = [c[cell] for c in other_cells if cell in c]
        if seen:
            out[cell] = (sum(v == verdict for v in seen), len(seen))
    return out


def support_text(counts: dict, unit: str) -> dict:
    """``{cell: (k, n)}`` -> ``{cell: "k/n unit"}`` for :func:`scorecard`."""
    return {cell: f"{k}/{n} {unit}" for cell, (k, n) in counts.items()}


def model_scorecard(by_model: pd.DataFrame, digits: int = 2) -> str:
    """Markdown: utility verdicts of every classifier's maps (rows = methods, columns =
    classifier x baseline), under a heading, with the baselines' means."""
    table = model_utility_table(by_model, digits=digits, with_p=False)
    means = by_model.drop_duplicates("baseline")
    base = ", ".join(
        f"{r['baseline']} {format_number(r['baseline_mean'], digits)}" for _, r in means.iterrows()
    )
    return (
        "### Utility of every classifier's maps\n\n"
        + markdown_table(table)
        + f"\nBaseline means: {base}. Replicates and architectures localise differently; the "
        "scorecard above uses the primary model.\n"
    )


def run_notes(settings: dict, classifiers: dict[str, pd.DataFrame]) -> list[str]:
    """The settings of a run that a reader of its verdicts must know, one line each:
    ``settings`` holds the config values ``ssim_data_range``, ``ranking_map``, ``noise``,
    ``explain``; ``classifiers``: dataset -> its ``classifiers.csv`` (with ``init``)."""
    rng = float(settings["ssim_data_range"])
    notes = [
        f"SSIM data range: {rng:g}"
        + (
            " (as the paper's software in effect used on [0, 1] maps)"
            if rng == 2
            else " (the paper's software in effect used 2 on [0, 1] maps, which raises SSIM)"
        ),
        "Ranking metrics (AUPRC, AUROC, pointing game, relevance mass and rank, top-k) read "
        + (
            "the raw attributions (no percentile clip, ties shared)"
            if settings["ranking_map"] == "raw"
            else "the display maps in [0, 1] (as the paper; the percentile clip ties the top 1%)"
        ),
        f"SmoothGrad / SmoothGrad-IG noise: {settings['noise']} "
        + (
            "(drawn per model, step, method and image)"
            if settings["noise"] == "independent"
            else "(the same draws for every model and step: repeatability and reproducibility "
            "of SG and SIG are inflated)"
        ),
        "Class explained: "
        + ("the positive class" if settings["explain"] == "positive" else "the predicted class"),
    ]
    for ds, table in classifiers.items():
        if "init" not in table.columns:
            continue
        inits = ", ".join(f"{m}: {i}" for m, i in zip(table["model"], table["init"], strict=True))
        scratch = any(str(i).startswith("random") for i in table["init"])
        warn = " -- **trained from scratch, not fine-tuned from ImageNet as the paper**"
        notes.append(f"Classifiers of {ds}: {inits}" + (warn if scratch else ""))
    return notes


def data_line(convert: dict) -> str:
    """One line on what a dataset's scorecard is about, from its conversion summary
    (``convert.json``): format, target finding and negatives (multi-label formats), images and
    positives converted, images skipped, and where the patients of the split came from."""
    what = f"`{convert.get('format', '?')}` format"
    if convert.get("target"):
        what += f", target **{convert['target']}** (negatives: {convert.get('negatives')})"
    text = (
        f"Data: {what}; {convert['images']} images converted, {convert['positives']} of them "
        "positive"
    )
    if convert.get("unannotated_positives"):
        text += (
            f" ({convert['unannotated_positives']} without ground truth: classifier training only)"
        )
    if convert.get("skipped"):
        text += f", {len(convert['skipped'])} skipped (convert.json says why)"
    sources = convert.get("patient_ids") or {}
    if sources.get("none"):
        text += (
            f"; {sources['none']} images without a patient id (each its own patient in the split)"
        )
    return text + "."


def _link(target: str | os.PathLike, start: Path) -> str:
    rel = Path(os.path.relpath(Path(target).resolve(), start.resolve())).as_posix()
    return f"<{rel}>" if any(c in rel for c in " ()") else rel


def write_summary(
    path: str | os.PathLike,
    sections: list[tuple[str, str]],
    figures: list[tuple[str, str]],
    *,
    title: str = "Saliency map audit: summary",
    notes: list[str] | None = None,
) -> None:
    """Write ``summary.md``: title, ``notes`` about the run (a bullet list, first screen),
    "How to read this", one section per dataset, then figures.

    ``sections``: ``(heading, markdown)`` pairs, e.g. ``("pneumothorax", scorecard(v))``.
    ``figures``: ``(caption, path)`` pairs; each becomes an image link relative to the folder
    of ``path`` (so the Markdown renders wherever the results folder is moved).
    """
    path = Path(path)
    for item in list(sections) + list(figures):
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise InputError(f"write_summary: expected (title, text/path) pairs, got {item!r}")
    parts = [f"# {title}\n"]
    if notes:
        parts.append("".join(f"* {line}\n" for line in notes))
    parts += ["## How to read this\n", HOW_TO_READ]
    for heading, body in sections:
        parts.append(f"## {heading}\n")
        parts.append(str(body).rstrip() + "\n")
    if figures:
        parts.append("## Figures\n")
        for caption, fig_path in figures:
            link = _link(fig_path, path.parent)
            parts.append(f"### {caption}\n\n![{caption}]({link})\n")
    io.write_text(path, "\n".join(parts))
