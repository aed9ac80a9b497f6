DATA = f"{RESULTS}/{{dataset}}/images"
SPLIT = f"{RESULTS}/{{dataset}}/splits/split.csv"
MODEL_DIR = f"{RESULTS}/{{dataset}}/models/{{model}}"
BASELINE_DIR = f"{RESULTS}/{{dataset}}/baselines/{{baseline}}"


rule train_classifier:
    input:
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
        split=SPLIT,
    output:
        model=f"{MODEL_DIR}/model.keras",
        history=f"{MODEL_DIR}/history.csv",
        curve=report(
            f"{MODEL_DIR}/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Models",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model}"},
        ),
        predictions=f"{MODEL_DIR}/test_predictions.csv",
        metrics=f"{MODEL_DIR}/test_metrics.json",
    log:
        f"{RESULTS}/logs/train_classifier/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_classifier/{{dataset}}/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(TRAINED) if TRAINED else "^$",
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["models"]["training"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    params:
        arch=lambda wc: MODELS[wc.model]["arch"],
        size=config["image_size"],
        training=config["models"]["training"],
        weights=lambda wc: config["models"]["weights"].get(MODELS[wc.model]["arch"]),
        seed=lambda wc: derive_seed(SEED, "train", wc.dataset, wc.model),
        n_boot=config["models"]["evaluation"]["n_bootstrap"],
        eval_seed=lambda wc: derive_seed(SEED, "evaluate", wc.dataset, wc.model),
    script:
        "../scripts/train_classifier.py"


rule import_classifier:
    input:
        source=imported_model_path,
    output:
        model=f"{MODEL_DIR}/model.keras",
    log:
        f"{RESULTS}/logs/import_classifier/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/import_classifier/{{dataset}}/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(IMPORTED) if IMPORTED else "^$",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        size=config["image_size"],
    script:
        "../scripts/import_classifier.py"


rule evaluate_classifier:
    input:
        model=f"{MODEL_DIR}/model.keras",
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
        split=SPLIT,
    output:
        predictions=f"{MODEL_DIR}/test_predictions.csv",
        metrics=f"{MODEL_DIR}/test_metrics.json",
    log:
        f"{RESULTS}/logs/evaluate_classifier/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate_classifier/{{dataset}}/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(IMPORTED) if IMPORTED else "^$",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=1,
    params:
        size=config["image_size"],
        n_boot=config["models"]["evaluation"]["n_bootstrap"],
        seed=lambda wc: derive_seed(SEED, "evaluate", wc.dataset, wc.model),
    script:
        "../scripts/evaluate_classifier.py"


rule classifier_table:
    input:
        classifier_metrics,
    output:
        report(
            f"{RESULTS}/{{dataset}}/models/classifiers.csv",
            caption="../report/classifiers.rst",
            category="Models",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "test AUROC"},
        ),
    log:
        f"{RESULTS}/logs/classifier_table/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/classifier_table/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        models=list(MODELS),
    script:
        "../scripts/classifier_table.py"


rule train_baseline:
    input:
        images=f"{DATA}/images.npy",
        masks=f"{DATA}/masks.npy",
        boxes=f"{DATA}/boxes.csv",
        index=f"{DATA}/index.csv",
        split=SPLIT,
    output:
        model=f"{BASELINE_DIR}/model.keras",
        history=f"{BASELINE_DIR}/history.csv",
        curve=report(
            f"{BASELINE_DIR}/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Models",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{baseline}"},
        ),
        maps=f"{BASELINE_DIR}/maps.npy",
        rows=f"{BASELINE_DIR}/maps_rows.csv",
    log:
        f"{RESULTS}/logs/train_baseline/{{dataset}}/{{baseline}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_baseline/{{dataset}}/{{baseline}}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["models"]["training"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    params:
        kind=lambda wc: wc.baseline.split("_")[0],
        size=config["image_size"],
        params=lambda wc: config["models"][wc.baseline.split("_")[0]],
        seed=lambda wc: derive_seed(SEED, "train", wc.dataset, wc.baseline),
        maps_seed=lambda wc: derive_seed(SEED, "maps", wc.dataset, wc.baseline),
    script:
        "../scripts/train_baseline.py"
