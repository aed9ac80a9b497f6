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
        by_model_csv=_table("utility_by_model", "csv"),
        by_model_md=f"{STATS_DIR}/utility_by_model.md",
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
        by_model=expand(
            f"{RESULTS}/{{dataset}}/stats/utility_by_model.csv", dataset=DATASETS
        ),
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
