rule stats:
    input:
        metric_csvs,
    output:
        **stats_outputs(),
    log:
        P.log("stats", "{dataset}"),
    benchmark:
        P.benchmark("stats", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=4000, runtime=30),
    params:
        primary=primary_model(),
        randomized=randomized_model(),
        final_step=final_step(),
        architectures=agreement_pairs().get(AGREEMENT_KINDS[1]),
        high=lambda wc: high_baseline_model(wc.dataset),
        utility_metric=config["stats"]["utility_metric"],
        data_randomized=data_randomized_model(),
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
        **{name: _figure(name) for name in FIGURES},
    log:
        P.log("figures", "{dataset}"),
    benchmark:
        P.benchmark("figures", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=4000, runtime=30),
    params:
        maps=figure_maps,
        primary=primary_model(),
        randomized=randomized_model(),
        high=lambda wc: high_baseline_model(wc.dataset),
        utility_metric=config["stats"]["utility_metric"],
        n_examples=config["saliency"]["panel_images"],
    script:
        "../scripts/figures.py"


rule summary:
    input:
        **{name: _flatten(files) for name, files in summary_files().items()},
    output:
        report(
            P.summary,
            caption="../report/summary.rst",
            category="Summary",
            labels={"document": "scorecards (Markdown)"},
        ),
    log:
        P.log("summary"),
    benchmark:
        P.benchmark("summary")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=2000, runtime=10),
    params:
        **summary_files(),
        settings=dict(
            ssim_data_range=config["metrics"]["ssim_data_range"],
            ranking_map=config["metrics"]["ranking_map"],
            noise=config["saliency"]["noise"],
            explain=config["saliency"]["explain"],
        ),
    script:
        "../scripts/summary.py"


rule methods_table:
    input:
        lambda wc: list(table1_sidecars(wc).values()),
    output:
        csv=report(
            P("stats", name="table1", ext="csv"),
            caption="../report/table1.rst",
            category="Tables",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "Table 1 (methods as run)", "format": "csv"},
        ),
        md=P("stats", name="table1", ext="md"),
    log:
        P.log("methods_table", "{dataset}"),
    benchmark:
        P.benchmark("methods_table", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=1000, runtime=5),
    params:
        model=primary_model(),
        sidecars=table1_sidecars,
    script:
        "../scripts/methods_table.py"
