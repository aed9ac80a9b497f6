STATS_DIR = f"{RESULTS}/{{dataset}}/stats"
FIG_DIR = f"{RESULTS}/{{dataset}}/figures"
TABLE_TITLES = {
    "table2": "Table 2 (utility)",
    "table3": "Table 3 (randomization)",
    "table4": "Table 4 (repeatability, reproducibility)",
}
FIGURES = [
    "figure2_utility",
    "figure3_randomization",
    "figure3_panel",
    "figure4_agreement",
    "overlays",
]


def metric_csvs(wildcards):
    ds = wildcards.dataset
    return [f"{RESULTS}/{ds}/metrics/{m}.csv" for m in METHODS] + [
        f"{RESULTS}/{ds}/metrics/baselines.csv"
    ]


def randomized_model():
    return RANDOMIZED[0] if RANDOMIZED else None


def high_baseline_model(dataset):
    return baselines(dataset)[0] if baselines(dataset) else None


def _table(name, ext):
    return report(
        f"{STATS_DIR}/{name}.{ext}",
        caption=f"../report/{name}.rst",
        category="Tables",
        subcategory="{dataset}",
        labels={"dataset": "{dataset}", "table": TABLE_TITLES[name], "format": ext},
    )


rule stats:
    input:
        metric_csvs,
    output:
        verdicts=report(
            f"{STATS_DIR}/verdicts.csv",
            caption="../report/verdicts.rst",
            category="Tables",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "all verdicts", "format": "csv"},
        ),
        table2_csv=_table("table2", "csv"),
        table2_md=f"{STATS_DIR}/table2.md",
        table3_csv=_table("table3", "csv"),
        table3_md=f"{STATS_DIR}/table3.md",
        table4_csv=_table("table4", "csv"),
        table4_md=f"{STATS_DIR}/table4.md",
        localization=report(
            f"{STATS_DIR}/localization.csv",
            caption="../report/localization.rst",
            category="Tables",
            subcategory="{dataset}",
            labels={
                "dataset": "{dataset}",
                "table": "localization (bootstrap CI)",
                "format": "csv",
            },
        ),
    log:
        f"{RESULTS}/logs/stats/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/stats/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        primary=primary_model(),
        randomized=randomized_model(),
        high=lambda wc: high_baseline_model(wc.dataset),
        utility_metric=config["stats"]["utility_metric"],
        alpha=config["stats"]["alpha"],
        adjust=config["stats"]["adjust"],
        n_bootstrap=config["metrics"]["n_bootstrap"],
        seed=lambda wc: derive_seed(SEED, "stats", wc.dataset),
    script:
        "../scripts/stats.py"


def figure_inputs(wildcards):
    ds = wildcards.dataset
    files = {
        "metrics": metric_csvs(wildcards),
        "images": f"{RESULTS}/{ds}/images/images.npy",
        "masks": f"{RESULTS}/{ds}/images/masks.npy",
        "positives": f"{RESULTS}/{ds}/splits/positives.csv",
        "primary": [
            f"{RESULTS}/{ds}/saliency/{primary_model()}/{m}.npy" for m in METHODS
        ],
        "randomized": [
            f"{RESULTS}/{ds}/randomization/{model}/{s.name}/{m}.npy"
            for model in RANDOMIZED[:1]
            for s in STEPS[model]
            if s.kind == "cascade"
            for m in METHODS
        ],
    }
    return files


def _figure(name):
    return report(
        f"{FIG_DIR}/{name}.png",
        caption=f"../report/{name}.rst",
        category="Figures",
        subcategory="{dataset}",
        labels={"dataset": "{dataset}", "figure": name.replace("_", " ")},
    )


rule figures:
    input:
        unpack(figure_inputs),
    output:
        figure2=_figure("figure2_utility"),
        figure3=_figure("figure3_randomization"),
        panel=_figure("figure3_panel"),
        figure4=_figure("figure4_agreement"),
        overlays=_figure("overlays"),
    log:
        f"{RESULTS}/logs/figures/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        methods=METHODS,
        primary=primary_model(),
        randomized=randomized_model(),
        cascade=[
            s.name for s in STEPS.get(randomized_model(), []) if s.kind == "cascade"
        ],
        high=lambda wc: high_baseline_model(wc.dataset),
        utility_metric=config["stats"]["utility_metric"],
        n_examples=config["saliency"]["panel_images"],
    script:
        "../scripts/figures.py"


rule summary:
    input:
        verdicts=expand(f"{RESULTS}/{{dataset}}/stats/verdicts.csv", dataset=DATASETS),
        figures=expand(
            f"{RESULTS}/{{dataset}}/figures/{{name}}.png",
            dataset=DATASETS,
            name=FIGURES,
        ),
    output:
        report(
            f"{RESULTS}/report/summary.md",
            caption="../report/summary.rst",
            category="Summary",
            labels={"document": "scorecards (Markdown)"},
        ),
    log:
        f"{RESULTS}/logs/summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/summary.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        datasets=DATASETS,
        n_figures=len(FIGURES),
    script:
        "../scripts/summary.py"
