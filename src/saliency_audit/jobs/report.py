"""Stats, figures and summary jobs: tidy metric CSVs -> verdicts, Tables 1-4, Figures 2-4.

Which rows feed which test (all per dataset; the verdict parts of :func:`verdict_parts`, the
tables that show them in :data:`TABLES`):

- utility (Tables 2 and 3, Figure 2): the primary model's ``trained`` maps of every positive test
  image against AVG (low) and the first U-Net / RetinaNet replicate (high), as pixel AUROC in
  Table 2 and as ``stats.utility_metric`` in Table 3;
- randomization (Table 3, Figure 3): the randomized model's cascade steps on the sample; the
  verdict compares the fully randomized step with the method's random-pair baseline; Table 3
  adds the trained model's utility against the fully randomized model's (paired by image);
- agreement (Table 4, Figure 4): repeatability / reproducibility SSIM on the sample against 0.5
  and the two U-Nets / RetinaNets;
- further contrasts (``comparisons``): repeatability against reproducibility, and the utility
  of one architecture against the other.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from saliency_audit import io, provenance
from saliency_audit import metrics as M
from saliency_audit.errors import InputError
from saliency_audit.figures import FIGURES
from saliency_audit.split import read_positives
from saliency_audit.vocabulary import (
    AGREEMENT_KINDS,
    AVG,
    BASELINE_LABELS,
    FAITHFULNESS,
    METRICS,
    PERMUTED_LABELS,
    RANDOM_ORDER,
    RANDOM_PAIRS,
    TRAINED,
    is_cascade,
)

#: the metrics of ``localization.csv``: mean and bootstrap CI per model, method and step
LOCALIZATION_SUMMARY = [m.name for m in METRICS.values() if m.compares == "mask" and m.summarised]


def load_metrics(paths) -> pd.DataFrame:
    """The tidy rows of metric CSVs (their provenance columns left out)."""
    frames = []
    for p in paths:
        frame = pd.read_csv(p, dtype={"image_id": str, "step": str, "model": str})
        missing = set(M.COLUMNS) - set(frame.columns)
        if missing:
            raise InputError(f"{p}: missing column(s) {', '.join(sorted(missing))}")
        frames.append(frame[M.COLUMNS])
    return pd.concat(frames, ignore_index=True) if frames else M.empty_tidy()


def utility_rows(df: pd.DataFrame, model: str, step: str, high_model: str | None) -> pd.DataFrame:
    """The model's maps at ``step`` plus AVG and the first high-baseline replicate."""
    cls = (df["model"] == model) & (df["step"] == step) & ~df["method"].isin(BASELINE_LABELS)
    avg = df["model"] == AVG
    high = (df["model"] == high_model) if high_model else np.zeros(len(df), bool)
    return df[cls | avg | high]


def classifier_models(df: pd.DataFrame) -> list[str]:
    """The classifiers with maps of the trained model (in order of appearance)."""
    sub = df[(df["step"] == TRAINED) & ~df["method"].isin(BASELINE_LABELS)]
    sub = sub[~sub["model"].isin([AVG, *AGREEMENT_KINDS])]
    return list(dict.fromkeys(sub["model"]))


def method_rows(df: pd.DataFrame, model: str, step: str) -> pd.DataFrame:
    """The saliency methods' rows of ``model`` at ``step`` (no baselines)."""
    sub = df[(df["model"] == model) & (df["step"] == step)]
    return sub[~sub["method"].isin(BASELINE_LABELS)]


def cascade_rows(df: pd.DataFrame, model: str) -> pd.DataFrame:
    sub = df[(df["model"] == model) & df["step"].map(is_cascade)]
    return sub[~sub["method"].isin(BASELINE_LABELS)]


def random_pair_rows(df: pd.DataFrame, model: str) -> pd.DataFrame:
    return df[(df["model"] == model) & (df["step"] == RANDOM_PAIRS) & (df["metric"] == "ssim")]


def agreement_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["model"].isin(AGREEMENT_KINDS) & (df["step"] == TRAINED)]


def localization_summary(df: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Mean and percentile-bootstrap 95% CI per (model, method, step, metric)."""
    sub = df[df["metric"].isin(LOCALIZATION_SUMMARY) & (df["step"] != RANDOM_PAIRS)]
    sub = sub[~sub["model"].isin(AGREEMENT_KINDS)]
    rows = []
    for (ds, model, method, step, metric), g in sub.groupby(
        ["dataset", "model", "method", "step", "metric"], sort=False
    ):
        mean, lo, hi = M.bootstrap_ci(g["value"].to_numpy(), n_boot=n_boot, seed=seed)
        rows.append(
            {
                "dataset": ds,
                "model": model,
                "method": method,
                "step": step,
                "metric": metric,
                "n": int(g["value"].notna().sum()),
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return pd.DataFrame(rows)


#: the statistics tables: name -> (title, the verdict parts it shows)
TABLES = {
    "table2": ("Table 2: localization utility as pixel AUROC", ["auc"]),
    "table3": (
        "Table 3: localization utility and sensitivity to cascading weight randomization",
        ["utility", "randomization", "trained_vs_random"],
    ),
    "table4": ("Table 4: repeatability and reproducibility", ["agreement"]),
    "comparisons": (
        "Further contrasts of the paper's Results: repeatability vs reproducibility, "
        "one architecture vs another",
        ["repeatability_vs_reproducibility", "architectures"],
    ),
    "trust": (
        "Trust tests beyond the paper: data randomization (permuted labels) and faithfulness "
        "(deletion, insertion, ROAD against a random pixel order)",
        ["data_randomization", "faithfulness"],
    ),
}
#: the verdict parts of the scorecard (the paper's Tables 3 and 4, and the tests beyond it)
SCORECARD_PARTS = (
    "utility",
    "randomization",
    "trained_vs_random",
    "agreement",
    "data_randomization",
    "faithfulness",
)


@dataclass(frozen=True)
class Design:
    """Which rows feed which test: ``primary_model`` (utility, Table 2-3), the
    ``randomized_model`` and its ``final_step`` (the last configured cascade step, where the
    randomization verdict and the trained-vs-random contrast are read), the first ``high_model``
    localiser replicate, the two ``architectures`` whose utility is compared, the
    ``utility_metric`` of the verdicts."""

    primary_model: str
    randomized_model: str | None = None
    final_step: str | None = None
    high_model: str | None = None
    architectures: tuple[str, str] | None = None
    utility_metric: str = "auprc"
    data_randomized_model: str | None = None


def verdict_parts(df: pd.DataFrame, design: Design, options) -> dict[str, pd.DataFrame]:
    """Every family of verdicts of one dataset's metrics, by part name (see :data:`TABLES`)."""
    primary_model, randomized_model = design.primary_model, design.randomized_model
    final_step, high_model = design.final_step, design.high_model
    architectures, utility_metric = design.architectures, design.utility_metric
    from saliency_audit.stats import (
        agreement_verdicts,
        paired_verdicts,
        randomization_verdicts,
        utility_verdicts,
    )

    util = utility_rows(df, primary_model, TRAINED, high_model)
    kw = dict(model=primary_model, step=TRAINED, options=options)
    parts = {
        "auc": utility_verdicts(util, "auroc", **kw),
        "utility": utility_verdicts(util, utility_metric, **kw),
    }
    if randomized_model:
        casc = cascade_rows(df, randomized_model)
        parts["randomization"] = randomization_verdicts(
            casc[casc["metric"] == "ssim"],
            random_pair_rows(df, randomized_model)[["dataset", "method", "metric", "value"]],
            step=final_step,
            model=randomized_model,
            options=options,
        )
        parts["trained_vs_random"] = paired_verdicts(
            method_rows(df, randomized_model, TRAINED),
            method_rows(df, randomized_model, final_step),
            metric=utility_metric,
            criterion="trained_vs_random",
            condition="trained",
            baseline=f"fully randomized ({final_step})",
            options=options,
        )
    agree = agreement_rows(df)
    of_methods = agree[~agree["method"].isin(BASELINE_LABELS)]
    kinds = [k for k in AGREEMENT_KINDS if (of_methods["model"] == k).any()]
    if kinds:
        parts["agreement"] = agreement_verdicts(agree, kinds=kinds, options=options)
    if len(kinds) == 2:
        parts["repeatability_vs_reproducibility"] = paired_verdicts(
            of_methods[of_methods["model"] == AGREEMENT_KINDS[0]],
            of_methods[of_methods["model"] == AGREEMENT_KINDS[1]],
            metric="ssim",
            criterion="repeatability_vs_reproducibility",
            condition=AGREEMENT_KINDS[0],
            baseline=AGREEMENT_KINDS[1],
            options=options,
        )
    if architectures:
        a, b = architectures
        parts["architectures"] = paired_verdicts(
            method_rows(df, a, TRAINED),
            method_rows(df, b, TRAINED),
            metric=utility_metric,
            criterion="architectures",
            condition=a,
            baseline=b,
            options=options,
        )
    if design.data_randomized_model:
        parts["data_randomization"] = data_randomization_verdicts(
            df, design.data_randomized_model, options
        )
    faithful = faithfulness_verdicts(df, primary_model, options)
    if faithful is not None:
        parts["faithfulness"] = faithful
    for name, part in parts.items():
        part.insert(0, "part", name)
    return parts


def data_randomization_verdicts(df: pd.DataFrame, model: str, options) -> pd.DataFrame:
    """SSIM between the maps of ``model`` and of its twin trained on permuted labels, against
    the random-pair baseline (the model randomization test's rule: significantly below or no
    significant difference passes)."""
    from saliency_audit.stats import randomization_verdicts

    rows = method_rows(df, model, PERMUTED_LABELS)
    out = randomization_verdicts(
        rows[rows["metric"] == "ssim"],
        random_pair_rows(df, model)[["dataset", "method", "metric", "value"]],
        step=PERMUTED_LABELS,
        model=model,
        options=options,
    )
    out["criterion"] = "data_randomization"
    return out


def faithfulness_verdicts(df: pd.DataFrame, model: str, options) -> pd.DataFrame | None:
    """Per curve (deletion, insertion, ROAD) and method: the area of the map's order against
    the random order's on the same images (one family per curve); None without such rows."""
    from saliency_audit.stats import apply_verdicts, contrasts

    frames = []
    for curve, (metric, higher) in FAITHFULNESS.items():
        sub = df[(df["model"] == model) & (df["metric"] == metric) & (df["step"] == TRAINED)]
        if sub.empty or not (sub["method"] == RANDOM_ORDER).any():
            continue
        targets = [m for m in dict.fromkeys(sub["method"]) if m != RANDOM_ORDER]
        table = contrasts(sub, metric, targets, [RANDOM_ORDER], options)
        frames.append(
            apply_verdicts(table, criterion=f"faithfulness_{curve}", higher_is_better=higher)
        )
    return pd.concat(frames, ignore_index=True) if frames else None


def stats_job(
    *,
    dataset: str,
    metric_csvs,
    design: Design,
    options,
    n_bootstrap: int,
    out: dict,
    log: logging.Logger,
) -> None:
    """Verdicts of every test, Tables 2-4 and the further contrasts (CSV + Markdown) of one
    dataset. ``design``: which rows feed which test; ``options``: the
    :class:`~saliency_audit.stats.TestOptions` of every family; ``out``: the
    :meth:`~saliency_audit.paths.Paths.stats_files` of the dataset."""
    from saliency_audit.stats import (
        model_utility_table,
        utility_verdicts,
        verdict_table,
        write_markdown,
        write_table,
    )

    df = load_metrics(metric_csvs)
    parts = verdict_parts(df, design, options)
    utility_metric, high_model = design.utility_metric, design.high_model

    def model_utility(m: str) -> pd.DataFrame:
        if m == design.primary_model:  # the scorecard's utility part: the same test
            return parts["utility"].drop(columns="part")
        rows = utility_rows(df, m, TRAINED, high_model)
        return utility_verdicts(rows, utility_metric, model=m, step=TRAINED, options=options)

    by_model = pd.concat(
        [model_utility(m).assign(classifier=m) for m in classifier_models(df)],
        ignore_index=True,
    )
    io.write_csv(out["utility_by_model_csv"], by_model, index=False)
    write_markdown(
        model_utility_table(by_model),
        out["utility_by_model_md"],
        title=f"Localization utility ({utility_metric}) of every classifier on {dataset}",
    )
    verdicts = pd.concat(parts.values(), ignore_index=True)
    io.write_csv(out["verdicts_csv"], verdicts.assign(**provenance.stamp()), index=False)
    for name, (title, keys) in TABLES.items():
        present = [parts[k] for k in keys if k in parts]
        if present:
            table = verdict_table(pd.concat(present, ignore_index=True))
        else:
            table = pd.DataFrame({"note": ["not computed: the configuration has no pair"]})
        write_table(table, out[f"{name}_csv"], out[f"{name}_md"], title=f"{title} ({dataset})")
    io.write_csv(
        out["localization_csv"],
        localization_summary(df, n_bootstrap, options.seed),
        index=False,
    )
    for _, r in verdicts.iterrows():
        log.info(
            "%s %s vs %s: %s (%.3f vs %.3f, p_adj %.3g)",
            r["criterion"],
            r["target"],
            r["baseline"],
            r["verdict"],
            r["target_mean"],
            r["baseline_mean"],
            r["p_adj"],
        )


def figures_job(
    *,
    dataset: str,
    metric_csvs,
    images,
    masks,
    positives,
    primary_model: str,
    primary_maps: dict[str, str],
    randomized_model: str | None,
    randomization_maps: dict[str, dict[str, str]],
    high_model: str | None,
    utility_metric: str,
    n_examples: int,
    out: dict,
    log: logging.Logger,
) -> None:
    """Figures 2, 3 (curves + image panel) and 4, and example overlays, of one dataset.

    ``primary_maps``: method -> the primary model's map stack; ``randomization_maps``: cascade
    step -> method -> the randomized model's map stack; ``out``: figure name (:data:`FIGURES`)
    -> path."""
    from saliency_audit.figures import (
        figure_agreement,
        figure_overlays,
        figure_randomization,
        figure_randomization_panel,
        figure_utility,
    )

    df = load_metrics(metric_csvs)
    figure_utility(
        utility_rows(df, primary_model, TRAINED, high_model),
        out["figure2_utility"],
        metric=utility_metric,
        model=primary_model,
        step=TRAINED,
        title=f"{dataset}: localization utility of {primary_model}'s maps",
    )
    rows = read_positives(positives)
    stack, gt = io.load_stack(images), io.load_stack(masks)
    if randomized_model:
        casc = cascade_rows(df, randomized_model)
        figure_randomization(
            casc,
            random_pair_rows(df, randomized_model)[["dataset", "method", "metric", "value"]],
            out["figure3_randomization"],
            model=randomized_model,
            title=f"{dataset}: cascading randomization of {randomized_model}",
        )
        sample = rows[rows["sampled"]].reset_index(drop=True)
        first = int(sample["index"].iloc[0])
        k_primary = int(np.flatnonzero(rows["index"].to_numpy() == first)[0])
        maps_by_step = {TRAINED: {m: io.load_stack(p)[k_primary] for m, p in primary_maps.items()}}
        for step, by_method in randomization_maps.items():
            maps_by_step[step] = {m: io.load_stack(p)[0] for m, p in by_method.items()}
        figure_randomization_panel(
            np.asarray(stack[first]),
            maps_by_step,
            out["figure3_panel"],
            title=f"{dataset}: image {sample['image_id'].iloc[0]} under cascading randomization",
        )
    else:
        for key in ("figure3_randomization", "figure3_panel"):
            _placeholder(out[key], "no randomized model in this configuration")
    agree = agreement_rows(df)
    if (~agree["method"].isin(BASELINE_LABELS)).any():
        kinds = [k for k in AGREEMENT_KINDS if (agree["model"] == k).any()]
        figure_agreement(
            agree,
            out["figure4_agreement"],
            kinds=kinds,
            title=f"{dataset}: repeatability and reproducibility (SSIM)",
        )
    else:
        _placeholder(
            out["figure4_agreement"], "no replicate / second architecture in this configuration"
        )
    k = min(n_examples, len(rows))
    chosen = rows["index"].to_numpy()[:k]
    figure_overlays(
        np.asarray(stack[chosen]),
        {m: io.load_stack(p)[:k] for m, p in primary_maps.items()},
        [np.asarray(gt[i]) > 0 for i in chosen],
        out["overlays"],
        title=f"{dataset}: {primary_model}'s maps on positive test images (outline: truth)",
    )
    log.info("figures of %s written", dataset)


def _placeholder(path, text: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    io.save_figure(fig, path)
    plt.close(fig)


def summary_job(
    *,
    verdicts: dict[str, str],
    figures: dict[str, dict[str, str]],
    out,
    log,
    by_model: dict[str, str] | None = None,
    settings: dict | None = None,
    classifiers: dict[str, str] | None = None,
    stability: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    localize: dict[str, str] | None = None,
    localize_figures: dict[str, str] | None = None,
    trust_figures: dict[str, str] | None = None,
    shortcut: dict[str, str] | None = None,
) -> None:
    """``summary.md``: one scorecard per dataset (the paper's Tables 3 and 4), the further
    contrasts, (with ``by_model``) the utility of every classifier's maps, and the figures,
    linked relatively. ``verdicts``, ``by_model``: dataset -> CSV; ``figures``: dataset ->
    figure name (:data:`FIGURES`) -> PNG; ``settings`` and ``classifiers`` (dataset ->
    ``classifiers.csv``): what a reader must know of the run, shown first
    (:func:`~saliency_audit.summary.run_notes`); ``stability``: dataset -> its
    ``verdict_stability.csv`` (reruns with other training seeds), when there are any;
    ``data``: dataset -> the conversion's ``convert.json`` (format, target, counts);
    ``localize``: dataset -> its cheXlocalize-protocol section (``localize_figures``: its
    figure), when the protocol ran; ``trust_figures``: dataset -> the faithfulness figure;
    ``shortcut``: the planted-shortcut benchmark's ``section`` and ``figure``. Utility
    cells say how many classifiers (all replicates and architectures) give the same verdict."""
    from saliency_audit.summary import (
        agreement,
        data_line,
        model_scorecard,
        run_notes,
        scorecard,
        support_text,
        write_summary,
    )

    stamp = provenance.stamp()
    notes = [
        f"Run: commit {stamp['commit']}, config hash {stamp['config_hash']} (every result "
        "carries both; results/provenance.json has the packages, machine and times)"
    ]
    if settings is not None:
        tables = {ds: pd.read_csv(p) for ds, p in (classifiers or {}).items()}
        notes += run_notes(settings, tables)

    sections, figs = [], []
    for ds, path in verdicts.items():
        v = pd.read_csv(path)
        card = v[v["part"].isin(SCORECARD_PARTS)]
        support: dict = {}
        if by_model is not None:
            models = pd.read_csv(by_model[ds])
            per_model = [g for _, g in models.groupby("classifier", sort=False)]
            support = support_text(agreement(card, per_model), "classifiers")
        if stability is not None:
            seeds = pd.read_csv(stability[ds])
            counts = {
                (r.criterion, r.metric, r.baseline, r.target): (r.agree, r.n)
                for r in seeds.itertuples()
            }
            for cell, text in support_text(counts, "seeds").items():
                support[cell] = f"{support[cell]}, {text}" if cell in support else text
        body = scorecard(card, dataset=ds, support=support)
        if data is not None:
            body = data_line(json.loads(Path(data[ds]).read_text())) + "\n\n" + body
        further = v[v["part"].isin(TABLES["comparisons"][1])]
        if len(further):
            body += "\n### Further contrasts\n\n" + scorecard(further, dataset=ds)
        if by_model is not None:
            body += "\n" + model_scorecard(models)
        if localize and ds in localize:
            body += "\n" + Path(localize[ds]).read_text()
        sections.append((ds, body))
        for name, fig in figures[ds].items():
            figs.append((f"{ds}: {FIGURES[name]}", str(Path(fig))))
        if trust_figures and ds in trust_figures:
            figs.append((f"{ds}: faithfulness curves", str(Path(trust_figures[ds]))))
        if localize_figures and ds in localize_figures:
            figs.append(
                (
                    f"{ds}: localisation against pathology characteristics",
                    str(Path(localize_figures[ds])),
                )
            )
    if shortcut:
        sections.append(("Planted-shortcut benchmark", Path(shortcut["section"]).read_text()))
        figs.append(("Planted-shortcut benchmark", str(Path(shortcut["figure"]))))
    write_summary(out, sections, figs, notes=notes)
    log.info("summary of %d dataset(s) written to %s", len(verdicts), out)


def methods_table_job(*, dataset: str, model: str, sidecars: dict[str, str], out: dict) -> None:
    """Table 1: the saliency methods as run (parameters, gradient work, noise, Grad-CAM layer
    and cell placement, the map recipe), read from one model's map sidecars. ``sidecars``:
    method -> ``.json``; ``out``: ``csv`` and ``md`` paths."""
    import json

    from saliency_audit.stats import write_table

    rows = []
    for method, path in sidecars.items():
        with open(path) as fh:
            meta = json.load(fh)
        params = ", ".join(f"{k}={v}" for k, v in sorted(meta["params"].items())) or "none"
        layer = meta.get("gradcam_layer")
        rows.append(
            {
                "method": method,
                "parameters (as run)": params,
                "gradients per image": meta["gradient_evaluations_per_image"],
                "noise": meta.get("noise") or "",
                "Grad-CAM layer": layer or "",
                "map recipe": meta["recipe"],
            }
        )
    table = pd.DataFrame(rows).set_index("method")
    write_table(
        table, out["csv"], out["md"], title=f"Table 1: saliency methods as run ({dataset}, {model})"
    )


def stability_job(*, dataset: str, main, replicas: list, out: dict) -> None:
    """Per verdict of the main run (the scorecard's and the further contrasts'), how many of
    the reruns with other training seeds (``replicas``: their verdicts CSVs) agree: a CSV row
    per cell (``agree``, ``n``) and a Markdown scorecard with ``k/n seeds`` per cell."""
    from saliency_audit.summary import agreement, scorecard, support_text

    verdicts = pd.read_csv(main)
    others = [pd.read_csv(p) for p in replicas]
    counts = agreement(verdicts, others)
    key = ["criterion", "metric", "baseline", "target"]
    rows = verdicts[key + ["verdict"]].astype(str).assign(dataset=dataset)
    cells = list(map(tuple, rows[key].to_numpy()))
    rows["agree"] = [counts.get(c, (0, 0))[0] for c in cells]
    rows["n"] = [counts.get(c, (0, 0))[1] for c in cells]
    rows["share"] = rows["agree"] / rows["n"].where(rows["n"] > 0)
    support = support_text(counts, "seeds")
    io.write_csv(out["csv"], rows[["dataset", *key, "verdict", "agree", "n", "share"]])
    text = scorecard(verdicts, dataset=dataset, support=support)
    heading = f"## Verdict stability on {dataset}: {len(others)} other training seeds\n\n"
    io.write_text(out["md"], heading + text)
