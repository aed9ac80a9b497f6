"""Markdown scorecard and summary.md from a known verdict table."""

import pandas as pd
import pytest

from saliency_audit.errors import InputError
from saliency_audit.summary import scorecard, write_summary

# (criterion, metric, baseline, step, baseline_mean, {method: (verdict, target_mean)})
KNOWN = [
    (
        "utility_low",
        "auprc",
        "AVG",
        "",
        0.15,
        {"GRAD": ("did not pass", 0.05), "XRAI": ("pass", 0.152), "GCAM": ("uncertain", 0.14)},
    ),
    (
        "utility_high",
        "auprc",
        "UNET",
        "",
        0.41,
        {
            "GRAD": ("did not pass", 0.05),
            "XRAI": ("did not pass", 0.152),
            "GCAM": ("did not pass", 0.14),
        },
    ),
    (
        "randomization",
        "ssim",
        "randomization baseline",
        "stem",
        None,
        {"GRAD": ("pass", 0.10), "XRAI": ("did not pass", 0.62), "GCAM": ("pass", 0.08)},
    ),
    (
        "repeatability_low",
        "ssim",
        "0.5",
        "",
        0.5,
        {"GRAD": ("did not pass", 0.2), "XRAI": ("pass", 0.64), "GCAM": ("uncertain", 0.51)},
    ),
    (
        "repeatability_high",
        "ssim",
        "UNET",
        "",
        0.98,
        {
            "GRAD": ("did not pass", 0.2),
            "XRAI": ("did not pass", 0.64),
            "GCAM": ("did not pass", 0.51),
        },
    ),
    (
        "reproducibility_low",
        "ssim",
        "0.5",
        "",
        0.5,
        {
            "GRAD": ("did not pass", 0.17),
            "XRAI": ("uncertain", 0.49),
            "GCAM": ("did not pass", 0.3),
        },
    ),
    (
        "reproducibility_high",
        "ssim",
        "UNET",
        "",
        0.98,
        {
            "GRAD": ("did not pass", 0.17),
            "XRAI": ("did not pass", 0.49),
            "GCAM": ("did not pass", 0.3),
        },
    ),
]
RAND_BASELINE = {"GRAD": 0.21, "XRAI": 0.35, "GCAM": 0.12}


def known_verdicts(dataset="pneumothorax"):
    rows = []
    for criterion, metric, baseline, step, base_mean, cells in reversed(KNOWN):
        for method, (v, mean) in cells.items():
            rows.append(
                dict(
                    dataset=dataset,
                    criterion=criterion,
                    metric=metric,
                    target=method,
                    baseline=baseline,
                    step=step,
                    target_mean=mean,
                    baseline_mean=RAND_BASELINE[method] if base_mean is None else base_mean,
                    p_adj=0.001,
                    adjust="holm",
                    alpha=0.05,
                    verdict=v,
                )
            )
    return pd.DataFrame(rows)


def parse(markdown):
    """Markdown table -> {row label: {column header: cell}}."""
    lines = [ln for ln in markdown.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert set(lines[1].strip("|").split("|")) == {"---"}
    table = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        table[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return header, table


def test_scorecard_cells_hold_the_verdicts_and_means():
    header, table = parse(scorecard(known_verdicts()))
    assert header == [
        "method",
        "Utility vs AVG (AUPRC)",
        "Utility vs UNET (AUPRC)",
        "Randomization (SSIM at stem vs baseline)",
        "Repeatability vs 0.5 (SSIM)",
        "Repeatability vs UNET (SSIM)",
        "Reproducibility vs 0.5 (SSIM)",
        "Reproducibility vs UNET (SSIM)",
    ]
    assert list(table) == ["GRAD", "GCAM", "XRAI", "*baseline mean*"]  # the paper's order
    assert table["XRAI"]["Utility vs AVG (AUPRC)"] == "pass (0.15)"
    assert table["GRAD"]["Utility vs AVG (AUPRC)"] == "did not pass (0.05)"
    assert table["GCAM"]["Utility vs AVG (AUPRC)"] == "uncertain (0.14)"
    assert table["XRAI"]["Randomization (SSIM at stem vs baseline)"] == "did not pass (0.62)"
    assert table["GCAM"]["Randomization (SSIM at stem vs baseline)"] == "pass (0.08)"
    assert table["XRAI"]["Repeatability vs 0.5 (SSIM)"] == "pass (0.64)"
    assert table["XRAI"]["Reproducibility vs 0.5 (SSIM)"] == "uncertain (0.49)"
    assert table["GCAM"]["Reproducibility vs UNET (SSIM)"] == "did not pass (0.30)"
    base = table["*baseline mean*"]
    assert base["Utility vs UNET (AUPRC)"] == "0.41"
    assert base["Repeatability vs 0.5 (SSIM)"] == "0.50"
    assert base["Randomization (SSIM at stem vs baseline)"] == "0.12 to 0.35 (per method)"


def test_scorecard_needs_one_dataset_and_the_columns():
    both = pd.concat([known_verdicts(), known_verdicts("pneumonia")])
    with pytest.raises(InputError, match="dataset="):
        scorecard(both)
    _, table = parse(scorecard(both, dataset="pneumonia"))
    assert table["XRAI"]["Utility vs AVG (AUPRC)"] == "pass (0.15)"
    with pytest.raises(InputError, match="'verdict'"):
        scorecard(known_verdicts().drop(columns="verdict"))


def test_write_summary_sections_and_relative_links(tmp_path):
    report = tmp_path / "results" / "report" / "summary.md"
    fig = tmp_path / "results" / "pneumothorax" / "figures" / "utility.png"
    sections = [
        ("pneumothorax", scorecard(known_verdicts())),
        ("pneumonia", scorecard(known_verdicts("pneumonia"))),
    ]
    write_summary(report, sections, [("Figure 2: utility", str(fig))])
    text = report.read_text()
    assert text.startswith("# ")
    assert text.index("## How to read this") < text.index("## pneumothorax")
    assert text.index("## pneumothorax") < text.index("## pneumonia") < text.index("## Figures")
    for word in ("**pass**", "**did not pass**", "**uncertain**", "AVG", "U-Net", "0.5"):
        assert word in text
    assert "![Figure 2: utility](../pneumothorax/figures/utility.png)" in text
    assert "| XRAI | pass (0.15) | did not pass (0.15) |" in text
    with pytest.raises(InputError, match="pairs"):
        write_summary(report, [("only a title",)], [])


def test_model_scorecard_has_a_column_per_classifier_and_baseline():
    import pandas as pd

    from saliency_audit.summary import model_scorecard

    rows = []
    for clf, gcam in (("inceptionv3_r1", 0.2), ("densenet121_r1", 0.6)):
        for method, mean, verdict in (("GCAM", gcam, "pass" if gcam > 0.3 else "did not pass"),):
            for base, bmean in (("AVG", 0.3), ("UNET", 0.9)):
                rows.append(
                    {
                        "classifier": clf,
                        "metric": "auprc",
                        "target": method,
                        "baseline": base,
                        "verdict": verdict if base == "AVG" else "did not pass",
                        "target_mean": mean,
                        "baseline_mean": bmean,
                        "p_adj": 0.01,
                    }
                )
    text = model_scorecard(pd.DataFrame(rows))
    assert "| method | inceptionv3_r1: AUPRC vs AVG | inceptionv3_r1: AUPRC vs UNET |" in text
    assert "densenet121_r1: AUPRC vs UNET |" in text
    assert "| GCAM | did not pass (0.20) | did not pass (0.20) | pass (0.60) |" in text
    assert "Baseline means: AVG 0.30, UNET 0.90." in text


def test_run_notes_say_ssim_range_ranking_noise_and_initialisation():
    from saliency_audit.summary import run_notes

    settings = {
        "ssim_data_range": 1.0,
        "ranking_map": "raw",
        "noise": "common",
        "explain": "positive",
    }
    classifiers = {
        "pneumonia": pd.DataFrame({"model": ["m_r1"], "init": ["random (trained from scratch)"]})
    }
    notes = run_notes(settings, classifiers)
    assert notes[0].startswith("SSIM data range: 1 (the paper's software in effect used 2")
    assert "raw attributions" in notes[1] and "inflated" in notes[2]
    assert "trained from scratch, not fine-tuned from ImageNet" in notes[-1]
    paper = run_notes({**settings, "ssim_data_range": 2.0, "ranking_map": "display"}, {})
    assert paper[0].startswith("SSIM data range: 2 (as the paper") and "display maps" in paper[1]


def test_agreement_counts_replicates_with_the_same_verdict():
    from saliency_audit.summary import agreement, support_text

    main = pd.DataFrame(
        {
            "criterion": ["utility_low", "utility_low"],
            "metric": ["auprc", "auprc"],
            "baseline": ["AVG", "AVG"],
            "target": ["GCAM", "GRAD"],
            "verdict": ["pass", "did not pass"],
        }
    )
    other = main.assign(verdict=["pass", "uncertain"])
    third = main.iloc[:1]  # has only the GCAM cell
    counts = agreement(main, [main, other, third])
    assert counts[("utility_low", "auprc", "AVG", "GCAM")] == (3, 3)
    assert counts[("utility_low", "auprc", "AVG", "GRAD")] == (1, 2)
    text = support_text(counts, "classifiers")
    assert text[("utility_low", "auprc", "AVG", "GRAD")] == "1/2 classifiers"
    card = scorecard(main.assign(dataset="d", target_mean=[0.5, 0.1]), support=text)
    assert "| GCAM | pass (0.50; 3/3 classifiers) |" in card


def test_data_line_names_format_target_and_patients():
    from saliency_audit.summary import data_line

    line = data_line(
        {
            "format": "nih",
            "target": "Cardiomegaly",
            "negatives": "normal",
            "images": 36,
            "positives": 18,
            "skipped": [{"image_id": "x", "reason": "unreadable"}],
            "patient_ids": {"label file": 36},
        }
    )
    assert line == (
        "Data: `nih` format, target **Cardiomegaly** (negatives: normal); 36 images converted, "
        "18 of them positive, 1 skipped (convert.json says why)."
    )
    line = data_line({"format": "nih", "images": 9, "positives": 4, "unannotated_positives": 2})
    assert line.endswith("4 of them positive (2 without ground truth: classifier training only).")
    line = data_line({"format": "vindr", "images": 9, "positives": 4, "patient_ids": {"none": 9}})
    assert line.endswith(
        "4 of them positive; 9 images without a patient id (each its own patient in the split)."
    )
