"""Mixed-model contrasts, the paper's verdict rules and Tables 2-4 on data with known answers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from saliency_audit.errors import InputError
from saliency_audit.stats import compare, tables, verdict
from saliency_audit.stats.data import method_order, metric_rows
from saliency_audit.stats.mixed import fit_model
from saliency_audit.stats.verdict import FAIL, NOT_TESTED, PASS, UNCERTAIN


def zero_mean_noise(rng, n, sd):
    """Noise whose sample mean is exactly zero (so a built-in 'no effect' has estimate 0)."""
    e = rng.normal(0, sd, n)
    return e - e.mean()


def tidy(
    values_by_method,
    *,
    dataset="pneumothorax",
    model="inceptionv3_r1",
    step="trained",
    metric="auprc",
    models=None,
):
    """Tidy long rows from {method: per-image values}; image i is 'img{i:03d}' everywhere."""
    rows = []
    for method, values in values_by_method.items():
        mdl = (models or {}).get(method, model)
        for i, v in enumerate(values):
            rows.append(
                dict(
                    dataset=dataset,
                    model=mdl,
                    method=method,
                    step=step,
                    image_id=f"img{i:03d}",
                    metric=metric,
                    value=float(v),
                )
            )
    return pd.DataFrame(rows)


def utility_data(n=60, seed=0, dataset="pneumothorax", high="UNET", metric="auprc"):
    """Known effects vs AVG: GRAD +0.10, SG 0 (exactly), XRAI -0.10; UNET +0.40."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 0.1, n)  # per-image random intercept
    avg = 0.3 + image + rng.normal(0, 0.02, n)
    return tidy(
        {
            "GRAD": avg + 0.10 + zero_mean_noise(rng, n, 0.02),
            "SG": avg + zero_mean_noise(rng, n, 0.02),
            "XRAI": avg - 0.10 + zero_mean_noise(rng, n, 0.02),
            "AVG": avg,
            high: avg + 0.40 + zero_mean_noise(rng, n, 0.02),
        },
        dataset=dataset,
        metric=metric,
        models={"AVG": "avg", high: high.lower()},
    )


# --------------------------------------------------------------------------- mixed.py


def fit_mixed(df, metric="auprc", reference="AVG"):
    """The mixed model of one metric, every method in the data, ``reference`` first."""
    sub, n_dropped = metric_rows(df, metric, "test")
    return fit_model(sub, method_order(sub["method"]), reference, metric, n_dropped)


def test_fit_mixed_fixed_effects_are_differences_to_the_reference():
    fit = fit_mixed(utility_data(), "auprc")
    assert fit.ok, fit.reason
    assert fit.reference == "AVG"
    params = dict(zip(fit.exog_names(), fit.params, strict=True))
    assert params["method[T.GRAD]"] == pytest.approx(0.10, abs=1e-9)
    assert params["method[T.SG]"] == pytest.approx(0.0, abs=1e-9)
    assert params["method[T.XRAI]"] == pytest.approx(-0.10, abs=1e-9)
    assert params["method[T.UNET]"] == pytest.approx(0.40, abs=1e-9)
    # the random intercept carries the between-image variance (sd 0.1 -> var ~ 0.01)
    assert 0.004 < float(fit.result.cov_re.iloc[0, 0]) < 0.02


def test_contrasts_recover_known_effects_with_ci_and_p():
    df = utility_data()
    out = compare.contrasts(df, "auprc", baselines=["AVG", "UNET"])
    assert list(out.columns) == compare.CONTRAST_COLUMNS
    assert len(out) == 6 and set(out["model"]) == {"mixedlm"}
    row = out.set_index(["target", "baseline"])
    truth = {
        ("GRAD", "AVG"): 0.10,
        ("SG", "AVG"): 0.0,
        ("XRAI", "AVG"): -0.10,
        ("GRAD", "UNET"): -0.30,
        ("SG", "UNET"): -0.40,
        ("XRAI", "UNET"): -0.50,
    }
    for key, effect in truth.items():
        r = row.loc[key]
        assert r["estimate"] == pytest.approx(effect, abs=1e-9)
        assert r["ci_low"] < effect < r["ci_high"] or effect == pytest.approx(r["estimate"])
        assert r["n"] == 60 and r["n_excluded"] == 0
        # the estimate is target mean minus baseline mean
        assert r["estimate"] == pytest.approx(r["target_mean"] - r["baseline_mean"], abs=1e-9)
    assert row.loc[("GRAD", "AVG"), "p_value"] < 1e-6
    assert row.loc[("XRAI", "AVG"), "p_value"] < 1e-6
    assert row.loc[("SG", "AVG"), "p_value"] > 0.99
    assert (out["p_adj"] >= out["p_value"] - 1e-15).all()
    assert set(out["adjust"]) == {"holm"} and set(out["dataset"]) == {"pneumothorax"}


def test_constant_baseline_tests_the_method_mean():
    df = utility_data()
    out = compare.contrasts(df, "auprc", targets=["GRAD"], baselines=[0.2]).iloc[0]
    grad = df.loc[df["method"] == "GRAD", "value"]
    assert out["baseline"] == "0.2" and out["baseline_kind"] == "constant"
    assert out["estimate"] == pytest.approx(grad.mean() - 0.2, abs=1e-9)
    # between-image variance counts here: se close to sd / sqrt(n)
    assert out["se"] == pytest.approx(grad.std(ddof=1) / np.sqrt(len(grad)), rel=0.05)


def test_adjustment_methods():
    rng = np.random.default_rng(3)
    n = 30
    base = 0.5 + rng.normal(0, 0.1, n)
    df = tidy(
        {
            "AVG": base,
            "GRAD": base + 0.01 + rng.normal(0, 0.03, n),
            "SG": base + 0.015 + rng.normal(0, 0.03, n),
            "IG": base - 0.012 + rng.normal(0, 0.03, n),
        }
    )
    raw = compare.contrasts(df, "auprc", baselines=["AVG"], adjust="none")
    assert np.allclose(raw["p_adj"], raw["p_value"])
    p = raw["p_value"].to_numpy()
    assert 0.001 < p.min() < 0.2  # a moderate p-value so the adjustments differ
    holm = compare.contrasts(df, "auprc", baselines=["AVG"], adjust="holm")
    assert np.allclose(holm["p_adj"], multipletests(p, method="holm")[1])
    bonf = compare.contrasts(df, "auprc", baselines=["AVG"], adjust="bonferroni")
    assert np.allclose(bonf["p_adj"], np.minimum(1, 3 * p))
    single = compare.contrasts(df, "auprc", baselines=["AVG"], adjust="single-step")
    tukey = compare.contrasts(df, "auprc", baselines=["AVG"], adjust="tukey")
    s, t = single["p_adj"].to_numpy(), tukey["p_adj"].to_numpy()
    assert (s >= p).all() and (s <= np.minimum(1, 3 * p) + 0.01).all()
    assert (t >= s - 0.01).all()  # 6 pairwise contrasts: a bigger family than 3
    # seeded: the same call gives the same Monte Carlo p-values
    again = compare.contrasts(df, "auprc", baselines=["AVG"], adjust="single-step")
    assert np.array_equal(s, again["p_adj"].to_numpy())


def test_constant_data_never_crashes_and_falls_back():
    n = 20
    same = tidy({"AVG": [0.3] * n, "GRAD": [0.3] * n, "SG": [0.3] * n})
    fit = fit_mixed(same, "auprc")
    assert not fit.ok and "identical" in fit.reason
    out = compare.contrasts(same, "auprc", baselines=["AVG", 0.5], adjust="tukey")
    assert (out["model"] != "mixedlm").all()
    assert out["adjust"].str.startswith("holm").all()  # tukey needs the mixed model
    vs_avg = out[out["baseline"] == "AVG"]
    assert (vs_avg["estimate"] == 0).all() and (vs_avg["p_value"] == 1).all()
    vs_half = out[out["baseline"] == "0.5"]
    assert np.allclose(vs_half["estimate"], -0.2)
    assert np.allclose(vs_half["p_value"], 2 * 0.5**n)  # exact signed-rank, all below
    # constant per method (0.1 + 0.2 vs 0.3 rounding noise included)
    shifted = tidy({"AVG": [0.1] * n, "GRAD": [0.1 + 0.2] * n, "SG": [0.1] * n})
    out = compare.contrasts(shifted, "auprc", baselines=["AVG"]).set_index("target")
    assert out.loc["GRAD", "estimate"] == pytest.approx(0.2)
    assert out.loc["GRAD", "p_value"] == pytest.approx(2 * 0.5**n)
    assert out.loc["SG", "p_value"] == 1.0


def test_fallback_paired_t_when_mixedlm_fails(monkeypatch):
    import statsmodels.api as sm

    def boom(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(sm.MixedLM, "fit", boom)
    df = utility_data(n=25)
    out = compare.contrasts(df, "auprc", targets=["GRAD", "XRAI"], baselines=["AVG"])
    assert set(out["model"]) == {"paired-t"}
    assert out["note"].str.contains("Singular matrix").all()
    wide = df.pivot(index="image_id", columns="method", values="value")
    for _, r in out.iterrows():
        ref = sps.ttest_rel(wide[r["target"]], wide["AVG"])
        assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert r["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
    wil = compare.contrasts(df, "auprc", targets=["GRAD"], baselines=["AVG"], fallback="wilcoxon")
    ref = sps.wilcoxon(wide["GRAD"] - wide["AVG"])
    assert wil.iloc[0]["model"] == "wilcoxon"
    assert wil.iloc[0]["p_value"] == pytest.approx(ref.pvalue)


def test_nan_values_are_dropped_and_counted():
    df = utility_data(n=30)
    hit = (df["method"] == "GRAD") & df["image_id"].isin(["img000", "img001", "img002"])
    df.loc[hit, "value"] = np.nan
    out = compare.contrasts(df, "auprc", targets=["GRAD", "SG"], baselines=["AVG"])
    assert out.attrs["n_dropped"] == 3
    row = out.set_index("target")
    assert row.loc["GRAD", "n"] == 27 and row.loc["GRAD", "n_excluded"] == 3
    assert row.loc["SG", "n"] == 30 and row.loc["SG", "n_excluded"] == 0
    assert row.loc["GRAD", "model"] == "mixedlm"


def test_input_errors_name_the_culprit():
    df = utility_data(n=10)
    with pytest.raises(InputError, match="'image_id'"):
        compare.contrasts(df.drop(columns="image_id"), "auprc", baselines=["AVG"])
    bad = df.astype({"value": object})
    bad.loc[3, "value"] = "abc"
    with pytest.raises(InputError, match="'value'.*'abc'"):
        compare.contrasts(bad, "auprc", baselines=["AVG"])
    with pytest.raises(InputError, match="metric == 'auroc'.*auprc"):
        compare.contrasts(df, "auroc", baselines=["AVG"])
    with pytest.raises(InputError, match="baseline method.*RETINANET"):
        compare.contrasts(df, "auprc", baselines=["RETINANET"])
    with pytest.raises(InputError, match="target method.*GCAM"):
        compare.contrasts(df, "auprc", targets=["GCAM"], baselines=["AVG"])
    with pytest.raises(InputError, match="adjust"):
        compare.contrasts(df, "auprc", baselines=["AVG"], adjust="tukeyy")
    two = pd.concat([df, df.assign(model="densenet121")], ignore_index=True)
    with pytest.raises(InputError, match="several rows per \\(method, image_id\\).*model"):
        compare.contrasts(two, "auprc", baselines=["AVG"])
    mean = compare.contrasts(two, "auprc", baselines=["AVG"], duplicates="mean")
    assert (mean["n"] == 10).all()
    with pytest.raises(InputError, match="dataset"):
        compare.contrasts(
            pd.concat([df, df.assign(dataset="pneumonia")]), "auprc", baselines=["AVG"]
        )


# --------------------------------------------------------------------------- verdict.py


@pytest.mark.parametrize(
    ("estimate", "p", "higher", "otherwise", "expected"),
    [
        (0.1, 0.001, True, UNCERTAIN, PASS),
        (-0.1, 0.001, True, UNCERTAIN, FAIL),
        (0.1, 0.2, True, UNCERTAIN, UNCERTAIN),
        (-0.1, 0.05, True, UNCERTAIN, UNCERTAIN),  # p must be below alpha
        (-0.1, 0.001, False, PASS, PASS),  # randomization: below the baseline
        (0.1, 0.001, False, PASS, FAIL),  # randomization: above the baseline
        (0.1, 0.5, False, PASS, PASS),  # randomization: not different -> pass (paper)
        (0.1, 0.5, False, UNCERTAIN, UNCERTAIN),
        (float("nan"), 0.5, True, UNCERTAIN, NOT_TESTED),
        (0.1, float("nan"), True, UNCERTAIN, NOT_TESTED),
    ],
)
def test_decide(estimate, p, higher, otherwise, expected):
    got = verdict.decide(
        estimate, p, alpha=0.05, higher_is_better=higher, not_significant=otherwise
    )
    assert got == expected


def test_utility_verdicts_better_worse_equal():
    df = pd.concat([utility_data(), utility_data(seed=1, dataset="pneumonia", high="RETINANET")])
    v = verdict.utility_verdicts(df, "auprc")
    assert list(v.columns) == verdict.VERDICT_COLUMNS
    got = {(r.dataset, r.criterion, r.target): r.verdict for r in v.itertuples()}
    for ds in ("pneumothorax", "pneumonia"):
        assert got[(ds, "utility_low", "GRAD")] == PASS  # built +0.1 above AVG
        assert got[(ds, "utility_low", "SG")] == UNCERTAIN  # built equal to AVG
        assert got[(ds, "utility_low", "XRAI")] == FAIL  # built -0.1 below AVG
        for m in ("GRAD", "SG", "XRAI"):
            assert got[(ds, "utility_high", m)] == FAIL  # far below U-Net/RetinaNet
    assert set(v.loc[v["dataset"] == "pneumonia", "baseline"]) == {"AVG", "RETINANET"}
    # a method built above the high baseline passes it; one built equal is uncertain
    rng = np.random.default_rng(5)
    n = 40
    unet = 0.6 + rng.normal(0, 0.1, n)
    df2 = tidy(
        {
            "GCAM": unet + 0.1 + zero_mean_noise(rng, n, 0.02),
            "XRAI": unet + zero_mean_noise(rng, n, 0.02),
            "GBP": unet - 0.1 + zero_mean_noise(rng, n, 0.02),
            "UNET": unet,
        }
    )
    v2 = verdict.utility_verdicts(df2, "auprc", low=None).set_index("target")["verdict"]
    assert v2.to_dict() == {"GCAM": PASS, "XRAI": UNCERTAIN, "GBP": FAIL}


def test_utility_verdicts_select_model_and_step():
    df = utility_data(n=20)
    other = df[~df["method"].isin(["AVG", "UNET"])].assign(model="densenet121", value=0.0)
    both = pd.concat([df, other], ignore_index=True)
    with pytest.raises(InputError, match="model"):
        verdict.utility_verdicts(both, "auprc")
    v = verdict.utility_verdicts(both, "auprc", model="inceptionv3_r1")
    assert v.set_index(["criterion", "target"]).loc[("utility_low", "GRAD"), "verdict"] == PASS
    with pytest.raises(InputError, match="step == 'random'"):
        verdict.utility_verdicts(both, "auprc", model="inceptionv3_r1", step="random")


def randomization_data(n=40, seed=0, dataset="pneumothorax"):
    """Cascade logits -> mixed10 -> stem. At 'stem' (fully random): GRAD 0.2 (below a 0.4
    baseline), SG 0.6 (above), IG 0.4 (equal)."""
    rng = np.random.default_rng(seed)
    final = {"GRAD": 0.2, "SG": 0.6, "IG": 0.4}
    rows = []
    for step, frac in (("logits", 0.9), ("mixed10", 0.6), ("stem", 0.0)):
        for m, end in final.items():
            values = end + frac * (0.95 - end) + zero_mean_noise(rng, n, 0.05)
            rows.append(tidy({m: values}, dataset=dataset, step=step, metric="ssim"))
    return pd.concat(rows, ignore_index=True)


def random_pairs(seed=0, mean=0.4, n=50, methods=("GRAD", "SG", "IG")):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        [
            dict(method=m, pair=k, ssim=mean + e)
            for m in methods
            for k, e in enumerate(zero_mean_noise(rng, n, 0.03))
        ]
    )


@pytest.mark.parametrize("baseline_kind", ["number", "mapping", "samples"])
def test_randomization_verdicts_below_passes_above_fails_equal_passes(baseline_kind):
    df = randomization_data()
    baseline = {
        "number": 0.4,
        "mapping": {"GRAD": 0.4, "SG": 0.4, "IG": 0.4},
        "samples": random_pairs(),
    }[baseline_kind]
    v = verdict.randomization_verdicts(df, baseline)
    assert set(v["step"]) == {"stem"}  # the last step of the cascade as written
    assert set(v["criterion"]) == {"randomization"} and not v["higher_is_better"].any()
    got = v.set_index("target")["verdict"].to_dict()
    assert got == {"GRAD": PASS, "SG": FAIL, "IG": PASS}
    strict = verdict.randomization_verdicts(df, baseline, not_significant=UNCERTAIN)
    assert strict.set_index("target").loc["IG", "verdict"] == UNCERTAIN
    est = v.set_index("target")["estimate"]
    assert est["GRAD"] == pytest.approx(-0.2, abs=1e-9)
    assert est["SG"] == pytest.approx(0.2, abs=1e-9)


def test_randomization_sample_baseline_adds_its_variance():
    df = randomization_data()
    pairs = random_pairs()
    as_sample = verdict.randomization_verdicts(df, pairs).set_index("target")
    as_const = verdict.randomization_verdicts(df, pairs, baseline_as="constant").set_index("target")
    assert (as_sample["se"] > as_const["se"]).all()
    assert np.allclose(as_sample["estimate"], as_const["estimate"])
    # an earlier step can be tested explicitly: at 'logits' all stay far above the baseline
    early = verdict.randomization_verdicts(df, 0.4, step="logits")
    assert set(early["verdict"]) == {FAIL}
    with pytest.raises(InputError, match="method.*IG"):
        verdict.randomization_verdicts(df, random_pairs(methods=("GRAD", "SG")))
    with pytest.raises(InputError, match="step == 'mixed0'"):
        verdict.randomization_verdicts(df, 0.4, step="mixed0")


def agreement_data(n=40, seed=0, dataset="pneumothorax", high="UNET"):
    """Repeatability: XRAI 0.7 (> 0.5), GCAM 0.5 (= 0.5), SG 0.2 (< 0.5); UNET 0.7.
    Reproducibility: everything 0.1 lower, UNET rows only under repeatability."""
    rng = np.random.default_rng(seed)
    parts = []
    for kind, shift in (("repeatability", 0.0), ("reproducibility", -0.1)):
        image = zero_mean_noise(rng, n, 0.05)
        values = {
            m: mu + shift + image + zero_mean_noise(rng, n, 0.02)
            for m, mu in (("XRAI", 0.7), ("GCAM", 0.5), ("SG", 0.2))
        }
        if kind == "repeatability":
            values[high] = 0.7 + image + zero_mean_noise(rng, n, 0.02)
        parts.append(tidy(values, dataset=dataset, model=kind, metric="ssim"))
    return pd.concat(parts, ignore_index=True)


def test_agreement_verdicts_vs_low_and_high_baselines():
    v = verdict.agreement_verdicts(agreement_data())
    got = {(r.criterion, r.target): r.verdict for r in v.itertuples()}
    assert got[("repeatability_low", "XRAI")] == PASS
    assert got[("repeatability_low", "GCAM")] == UNCERTAIN
    assert got[("repeatability_low", "SG")] == FAIL
    assert got[("repeatability_high", "XRAI")] == UNCERTAIN  # built equal to U-Net
    assert got[("repeatability_high", "GCAM")] == FAIL
    assert got[("reproducibility_low", "XRAI")] == PASS  # 0.6 > 0.5
    assert got[("reproducibility_low", "SG")] == FAIL
    # U-Net rows exist only under repeatability: reused for reproducibility, paired by image
    assert got[("reproducibility_high", "XRAI")] == FAIL  # 0.6 < 0.7
    assert set(v["baseline"]) == {"UNET", "0.5"}
    # a saliency map more repeatable than the localizer passes the high baseline
    df = agreement_data()
    df.loc[(df["method"] == "UNET"), "value"] -= 0.3
    v2 = verdict.agreement_verdicts(df, kinds=["repeatability"])
    assert (
        v2.set_index(["criterion", "target"]).loc[("repeatability_high", "XRAI"), "verdict"] == PASS
    )
    with pytest.raises(InputError, match="model == 'reproducibility'"):
        verdict.agreement_verdicts(df[df["model"] == "repeatability"])


# --------------------------------------------------------------------------- tables.py


def test_format_p():
    assert tables.format_p(0.0004) == "P < .001"
    assert tables.format_p(0.02) == "P = .02"
    assert tables.format_p(0.0042) == "P = .004"
    assert tables.format_p(0.995) == "P > .99"
    assert tables.format_p(float("nan")) == "P = n/a"


def test_tables_2_3_4_layout_and_files(tmp_path):
    util = pd.concat(
        [
            utility_data(metric="auroc"),
            utility_data(seed=1, dataset="pneumonia", high="RETINANET", metric="auroc"),
            utility_data(),
            utility_data(seed=1, dataset="pneumonia", high="RETINANET"),
        ]
    )
    t2 = tables.verdict_table(verdict.utility_verdicts(util, "auroc"))
    assert list(t2.index) == ["GRAD", "SG", "XRAI"]  # the paper's order
    assert list(t2.columns) == [
        "pneumothorax: Utility vs AVG (AUROC)",
        "pneumothorax: Utility vs UNET (AUROC)",
        "pneumonia: Utility vs AVG (AUROC)",
        "pneumonia: Utility vs RETINANET (AUROC)",
    ]
    assert t2.loc["GRAD", "pneumothorax: Utility vs AVG (AUROC)"].startswith("pass (")
    assert t2.loc["SG", "pneumonia: Utility vs AVG (AUROC)"].startswith("uncertain (")
    assert t2.loc["XRAI", "pneumonia: Utility vs RETINANET (AUROC)"].startswith("did not pass (")
    assert "P < .001" in t2.loc["XRAI", "pneumonia: Utility vs RETINANET (AUROC)"]

    rand = randomization_data().assign(method=lambda d: d["method"].replace({"IG": "XRAI"}))
    parts = [
        verdict.utility_verdicts(util[util["dataset"] == "pneumothorax"], "auprc"),
        verdict.randomization_verdicts(rand, 0.4),
    ]
    t3 = tables.verdict_table(pd.concat(parts, ignore_index=True))
    assert list(t3.columns) == [
        "pneumothorax: Utility vs AVG (AUPRC)",
        "pneumothorax: Utility vs UNET (AUPRC)",
        "pneumothorax: Randomization (SSIM at stem vs baseline)",
    ]
    assert t3.loc["GRAD", "pneumothorax: Randomization (SSIM at stem vs baseline)"].startswith(
        "pass (0.20 vs 0.40"
    )
    assert t3.loc["SG", "pneumothorax: Randomization (SSIM at stem vs baseline)"].startswith(
        "did not pass"
    )

    t4 = tables.verdict_table(verdict.agreement_verdicts(agreement_data()))
    assert list(t4.index) == ["SG", "GCAM", "XRAI"]
    assert "pneumothorax: Repeatability vs 0.5 (SSIM)" in t4.columns
    assert t4.loc["XRAI", "pneumothorax: Repeatability vs 0.5 (SSIM)"].startswith(
        "pass (0.70 vs 0.50"
    )

    csv, md = tmp_path / "t" / "table4.csv", tmp_path / "t" / "table4.md"
    tables.write_table(t4, csv, md, title="Table 4")
    back = pd.read_csv(csv)
    assert list(back.columns)[0] == "method" and list(back["method"]) == ["SG", "GCAM", "XRAI"]
    text = md.read_text()
    assert text.startswith("## Table 4\n\n| method | pneumothorax: Repeatability vs 0.5 (SSIM) |")
    assert "| XRAI | pass (0.70 vs 0.50; P < .001) |" in text
    assert len([ln for ln in text.splitlines() if ln.startswith("|")]) == 2 + 3


def test_markdown_table_escapes_pipes():
    text = tables.markdown_table(pd.DataFrame({"a|b": ["x|y", None]}), index=False)
    assert text.splitlines() == ["| a\\|b |", "|---|", "| x\\|y |", "|  |"]


# --------------------------------------------------------------------------- paired conditions


def test_paired_verdicts_trained_vs_random_known_effects():
    """Trained maps better for GRAD (+0.1), equal for SG, worse for XRAI (-0.1); the second
    condition covers only the first 30 images: the contrast pairs on those."""
    rng = np.random.default_rng(2)
    n = 60
    image = rng.normal(0, 0.1, n)
    trained = tidy(
        {
            "GRAD": 0.4 + image + zero_mean_noise(rng, n, 0.02),
            "SG": 0.3 + image + zero_mean_noise(rng, n, 0.02),
            "XRAI": 0.2 + image + zero_mean_noise(rng, n, 0.02),
        }
    )
    random = tidy(
        {
            "GRAD": 0.3 + image[:30] + zero_mean_noise(rng, 30, 0.02),
            "SG": 0.3 + image[:30] + zero_mean_noise(rng, 30, 0.02),
            "XRAI": 0.3 + image[:30] + zero_mean_noise(rng, 30, 0.02),
        },
        step="cascade_stem",
    )
    out = verdict.paired_verdicts(
        trained,
        random,
        metric="auprc",
        criterion="trained_vs_random",
        condition="trained",
        baseline="fully randomized",
    ).set_index("target")
    assert list(out.index) == ["GRAD", "SG", "XRAI"] and (out["n"] == 30).all()
    assert out.loc["GRAD", "verdict"] == PASS and out.loc["XRAI", "verdict"] == FAIL
    assert out.loc["SG", "verdict"] == UNCERTAIN
    assert out.loc["GRAD", "estimate"] == pytest.approx(0.1, abs=0.02)
    assert (out["baseline"] == "fully randomized").all() and (out["condition"] == "trained").all()


def test_comparisons_read_higher_lower_or_no_difference():
    rng = np.random.default_rng(3)
    n = 40
    rep = tidy({"GRAD": 0.6 + zero_mean_noise(rng, n, 0.05), "SG": 0.3 + rng.normal(0, 0.05, n)})
    repro = tidy({"GRAD": 0.4 + zero_mean_noise(rng, n, 0.05), "SG": 0.3 + rng.normal(0, 0.05, n)})
    out = verdict.paired_verdicts(
        rep,
        repro,
        metric="auprc",
        criterion="repeatability_vs_reproducibility",
        condition="repeatability",
        baseline="reproducibility",
    ).set_index("target")
    assert out.loc["GRAD", "verdict"] == verdict.HIGHER
    assert out.loc["SG", "verdict"] == verdict.NO_DIFFERENCE
    table = tables.verdict_table(out.reset_index())
    assert list(table.columns) == ["pneumothorax: Repeatability vs reproducibility (AUPRC)"]
    assert table.loc["GRAD"].iloc[0].startswith("higher (0.60 vs 0.40")
