"""The planted-shortcut benchmark's summary section (Markdown scorecard) and figure."""

from __future__ import annotations

import pandas as pd

from .. import io
from ..stats.data import method_order
from ..stats.tables import format_number, markdown_table
from ..stats.verdict import FAIL, NOT_TESTED, PASS
from ..vocabulary import SHORTCUT_VARIANTS

SHORTCUT, CLEAN = SHORTCUT_VARIANTS
#: criterion -> (column heading, the words of pass / no significant difference / fail)
COLUMNS = {
    "exposes_shortcut": (
        "Marker share, shortcut vs clean model",
        ("**exposes the shortcut**", "does not expose it", "marker share lower"),
    ),
    "lesion_share_drop": (
        "Lesion share, clean vs shortcut model",
        ("tells them apart", "does not tell them apart", "lesion share higher"),
    ),
    "utility_drop": (
        "Utility (AUPRC), clean vs shortcut model",
        ("tells them apart", "does not tell them apart", "utility higher"),
    ),
}


def verdict_words(criterion: str, verdict: str) -> str:
    passed, neutral, failed = COLUMNS[criterion][1]
    if verdict == PASS:
        return passed
    if verdict == FAIL:
        return failed
    if verdict == NOT_TESTED:
        return NOT_TESTED
    return neutral


def scorecard(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Rows = methods, columns = the benchmark's criteria; cells ``words (a vs b, p_adj)``."""
    methods = method_order(verdicts["target"])
    table = pd.DataFrame("", index=pd.Index(methods, name="method"), columns=[])
    for criterion, (heading, _) in COLUMNS.items():
        part = verdicts[verdicts["criterion"] == criterion]
        cells = {}
        for _, r in part.iterrows():
            a, b = format_number(r["target_mean"], 3), format_number(r["baseline_mean"], 3)
            cells[r["target"]] = (
                f"{verdict_words(criterion, r['verdict'])} ({a} vs {b}; "
                f"p_adj {format_number(r['p_adj'], 3)})"
            )
        table[heading] = [cells.get(m, "") for m in methods]
    return table


def shortcut_section(
    scores: pd.DataFrame, verdicts: pd.DataFrame, classifiers: dict, settings: dict
) -> str:
    """Markdown: what the benchmark is, both classifiers' test AUROC, the scorecard."""
    lines = [
        "Synthetic phantoms with a planted shortcut: "
        f"{format_number(100 * settings['marker_rate'], 0)}% of the training and validation "
        f"{settings['lesion']} positives carry a letter-like marker in the top-right corner; "
        f"the test images carry it on {settings['test_marker']} "
        + ("classes" if settings["test_marker"] == "both" else "class")
        + ". The *shortcut* classifier is trained on these images, the *clean* one on the same "
        "images without the marker; both are tested on the same images. A method **exposes "
        "the shortcut** when the share of its attribution on the marker's box is significantly "
        "higher for the shortcut model than for the clean one (paired by image, mixed model, "
        "adjusted over methods); the other columns ask the same of the lesion share and of the "
        "utility (does the test tell the wrong model from the right one?). Cells: verdict "
        "(mean of the first model vs the second; adjusted p)."
    ]
    aucs = []
    for variant in SHORTCUT_VARIANTS:
        m = classifiers.get(variant, {})
        auc = m.get("auroc")
        if auc is not None:
            lo, hi = m.get("ci_low"), m.get("ci_high")
            ci = (
                f" (95% CI {format_number(lo, 2)} to {format_number(hi, 2)})"
                if lo is not None
                else ""
            )
            aucs.append(f"{variant} classifier {format_number(auc, 2)}{ci}")
    if aucs:
        lines.append(
            "Test AUROC on the benchmark's test images: "
            + "; ".join(aucs)
            + ". "
            + (
                "With the marker on both classes, a classifier that reads only the marker is "
                "at chance."
                if settings["test_marker"] == "both"
                else "Without the marker, a classifier that learnt only the marker is at chance."
            )
        )
    n = scores[scores["model"] == SHORTCUT]["image_id"].nunique()
    lines.append(f"{n} positive test images.")
    return "\n\n".join(lines) + "\n\n" + markdown_table(scorecard(verdicts)) + "\n"


def shortcut_figure(
    scores: pd.DataFrame, verdicts: pd.DataFrame, out, *, area: dict[str, float] | None = None
) -> None:
    """Box plots of the marker share and the lesion share of each method's maps, shortcut
    model vs clean model; ``area``: metric -> the region's mean share of the image (what a
    uniform map scores), drawn as a dashed baseline."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ..figures.style import boxplot, plt

    methods = method_order(scores["method"])
    colors = {SHORTCUT: "#e6550d", CLEAN: "#9ecae1"}
    fig, axes = plt.subplots(1, 2, figsize=(max(9, 1.6 * len(methods) + 4), 4.6))
    exposes = set(
        verdicts[(verdicts["criterion"] == "exposes_shortcut") & (verdicts["verdict"] == PASS)][
            "target"
        ]
    )
    for ax, metric, label in zip(
        axes,
        ("marker_share", "lesion_share"),
        ("share of attribution on the marker's box", "share of attribution on the lesion"),
        strict=True,
    ):
        data, pos, cols = [], [], []
        for k, m in enumerate(methods):
            for j, variant in enumerate(SHORTCUT_VARIANTS):
                sub = scores[
                    (scores["method"] == m)
                    & (scores["model"] == variant)
                    & (scores["metric"] == metric)
                ]
                data.append(sub["value"].dropna().to_numpy())
                pos.append(3 * k + j)
                cols.append(colors[variant])
        boxplot(ax, data, pos, cols, width=0.8)
        top = max([float(d.max()) for d in data if len(d)] + [0.01]) * 1.25
        if area and metric in area:
            ax.axhline(area[metric], color="black", ls="--", lw=1)
        ax.set_ylim(0, top)
        ax.set_xticks([3 * k + 0.5 for k in range(len(methods))], methods, rotation=45)
        ax.set_ylabel(f"{label} (unitless, 0 to 1)")
        ax.grid(axis="y", alpha=0.3)
        if metric == "marker_share":
            for k, m in enumerate(methods):
                if m in exposes:
                    ax.text(3 * k + 0.5, top * 0.93, "*", ha="center", fontsize=14)
    handles = [Patch(color=colors[v], label=f"{v} model") for v in SHORTCUT_VARIANTS]
    handles += [Line2D([], [], color="black", ls="--", label="region's area share (uniform map)")]
    handles += [Patch(color="white", label="* exposes the shortcut")]
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=len(handles))
    fig.suptitle("Planted-shortcut benchmark: where the maps put their attribution", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    io.save_figure(fig, out)
    plt.close(fig)
