rule method_metrics:
    input:
        unpack(method_metric_inputs),
    output:
        csv=f"{METRICS_DIR}/{{method}}.csv",
        segmentations=f"{METRICS_DIR}/{{method}}_otsu_segmentations.json",
    log:
        f"{RESULTS}/logs/method_metrics/{{dataset}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/method_metrics/{{dataset}}/{{method}}.tsv"
    wildcard_constraints:
        method="|".join(METHODS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        **METRIC_PARAMS,
        models=list(MODELS),
        randomization=randomization_layout,
        agreement=agreement_pairs(),
        random_pairs=config["metrics"]["random_pairs"],
        seed=lambda wc: derive_seed(SEED, "metrics", wc.dataset, wc.method),
    script:
        "../scripts/method_metrics.py"


rule baseline_metrics:
    input:
        unpack(baseline_metric_inputs),
    output:
        f"{METRICS_DIR}/baselines.csv",
    log:
        f"{RESULTS}/logs/baseline_metrics/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/baseline_metrics/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        **METRIC_PARAMS,
        label=lambda wc: baseline_kind(wc.dataset).upper(),
        models=lambda wc: baselines(wc.dataset),
        seed=lambda wc: derive_seed(SEED, "metrics", wc.dataset, "baselines"),
    script:
        "../scripts/baseline_metrics.py"
