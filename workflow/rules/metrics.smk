METRICS_DIR = f"{RESULTS}/{{dataset}}/metrics"
METRIC_PARAMS = dict(
    ssim_window=config["metrics"]["ssim_window"],
    ssim_data_range=config["metrics"]["ssim_data_range"],
    topk_fraction=config["metrics"]["topk_fraction"],
)


def method_metric_inputs(wildcards):
    ds, m = wildcards.dataset, wildcards.method
    files = {
        "positives": f"{RESULTS}/{ds}/splits/positives.csv",
        "masks": f"{RESULTS}/{ds}/images/masks.npy",
        "saliency": [f"{RESULTS}/{ds}/saliency/{model}/{m}.npy" for model in MODELS],
        "randomization": [
            f"{RESULTS}/{ds}/randomization/{model}/{s.name}/{m}.npy"
            for model in RANDOMIZED
            for s in STEPS[model]
        ],
    }
    return files


def randomization_layout(wildcards, input):
    layout, paths = {}, iter(input.randomization)
    for model in RANDOMIZED:
        layout[model] = {s.name: next(paths) for s in STEPS[model]}
    return layout


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


def baseline_metric_inputs(wildcards):
    ds = wildcards.dataset
    return {
        "positives": f"{RESULTS}/{ds}/splits/positives.csv",
        "masks": f"{RESULTS}/{ds}/images/masks.npy",
        "index": f"{RESULTS}/{ds}/images/index.csv",
        "split": f"{RESULTS}/{ds}/splits/split.csv",
        "maps": [f"{RESULTS}/{ds}/baselines/{b}/maps.npy" for b in baselines(ds)],
        "rows": [f"{RESULTS}/{ds}/baselines/{b}/maps_rows.csv" for b in baselines(ds)],
    }


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
