rule method_metrics:
    input:
        unpack(method_metric_inputs),
    output:
        csv=P.method_metrics,
        segmentations=P.segmentations,
    log:
        P.log("method_metrics", "{dataset}", "{method}"),
    benchmark:
        P.benchmark("method_metrics", "{dataset}", "{method}")
    wildcard_constraints:
        method="|".join(METHODS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=4000, runtime=30),
    params:
        **METRIC_PARAMS,
        files=method_map_files,
        agreement=agreement_pairs(),
        random_pairs=config["metrics"]["random_pairs"],
        seed=lambda wc: derive_seed(SEED, "metrics", wc.dataset, wc.method),
    script:
        "../scripts/method_metrics.py"


rule baseline_metrics:
    input:
        unpack(baseline_metric_inputs),
    output:
        P.baseline_metrics,
    log:
        P.log("baseline_metrics", "{dataset}"),
    benchmark:
        P.benchmark("baseline_metrics", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=4000, runtime=30),
    params:
        **METRIC_PARAMS,
        label=lambda wc: high_baseline(config["datasets"][wc.dataset]["task"])[1],
        files=baseline_files,
        seed=lambda wc: derive_seed(SEED, "metrics", wc.dataset, "baselines"),
    script:
        "../scripts/baseline_metrics.py"
