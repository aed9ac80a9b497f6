rule train_classifier:
    input:
        unpack(weights_input),
        images=P.images,
        index=P.index,
        split=P.split,
    output:
        model=P.model,
        history=P.history,
        curve=report(
            P.learning_curve,
            caption="../report/learning_curve.rst",
            category="Models",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model}"},
        ),
        predictions=P.predictions,
        metrics=P.test_metrics,
    log:
        P.log("train_classifier", "{dataset}", "{model}"),
    benchmark:
        P.benchmark("train_classifier", "{dataset}", "{model}")
    wildcard_constraints:
        model="|".join(TRAINED) if TRAINED else "^$",
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["models"]["training"]["threads"]
    resources:
        **gpu_job(mem_mb=8000, runtime=240),
    params:
        arch=lambda wc: MODELS[wc.model]["arch"],
        size=config["image_size"],
        training=config["models"]["training"],
        init=lambda wc: initial_weights(MODELS[wc.model]["arch"])[1],
        seed=lambda wc: train_seed(wc.dataset, wc.model),
        n_boot=config["models"]["evaluation"]["n_bootstrap"],
        eval_seed=lambda wc: derive_seed(SEED, "evaluate", wc.dataset, wc.model),
    script:
        "../scripts/train_classifier.py"


rule import_classifier:
    input:
        source=imported_model_path,
    output:
        model=P.model,
    log:
        P.log("import_classifier", "{dataset}", "{model}"),
    benchmark:
        P.benchmark("import_classifier", "{dataset}", "{model}")
    wildcard_constraints:
        model="|".join(IMPORTED) if IMPORTED else "^$",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=4000, runtime=10),
    params:
        size=config["image_size"],
    script:
        "../scripts/import_classifier.py"


rule import_torch_classifier:
    input:
        source=imported_model_path,
    output:
        model=P.torch_model,
    log:
        P.log("import_classifier", "{dataset}", "{model}"),
    benchmark:
        P.benchmark("import_classifier", "{dataset}", "{model}")
    wildcard_constraints:
        model="|".join(TORCH) if TORCH else "^$",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=4000, runtime=10),
    params:
        size=config["image_size"],
        backend=lambda wc: backend_params(wc.model),
    script:
        "../scripts/import_classifier.py"


rule evaluate_classifier:
    input:
        model=model_file,
        images=P.images,
        index=P.index,
        split=P.split,
    output:
        predictions=P.predictions,
        metrics=P.test_metrics,
    log:
        P.log("evaluate_classifier", "{dataset}", "{model}"),
    benchmark:
        P.benchmark("evaluate_classifier", "{dataset}", "{model}")
    wildcard_constraints:
        model="|".join(IMPORTED + TORCH) if IMPORTED + TORCH else "^$",
    conda:
        model_env
    threads: 2
    resources:
        **gpu_job(mem_mb=4000, runtime=30),
    params:
        size=config["image_size"],
        backend=lambda wc: backend_params(wc.model),
        n_boot=config["models"]["evaluation"]["n_bootstrap"],
        seed=lambda wc: derive_seed(SEED, "evaluate", wc.dataset, wc.model),
    script:
        "../scripts/evaluate_classifier.py"


rule classifier_table:
    input:
        lambda wc: list(classifier_metrics(wc).values()),
    output:
        report(
            P.classifiers,
            caption="../report/classifiers.rst",
            category="Models",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "test AUROC"},
        ),
    log:
        P.log("classifier_table", "{dataset}"),
    benchmark:
        P.benchmark("classifier_table", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=1000, runtime=5),
    params:
        metrics=classifier_metrics,
    script:
        "../scripts/classifier_table.py"


rule train_baseline:
    input:
        images=P.images,
        masks=P.masks,
        boxes=P.boxes,
        index=P.index,
        split=P.split,
    output:
        model=P.baseline_model,
        history=P.baseline_history,
        curve=report(
            P.baseline_curve,
            caption="../report/learning_curve.rst",
            category="Models",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{baseline}"},
        ),
        maps=P.baseline_maps,
        rows=P.baseline_rows,
    log:
        P.log("train_baseline", "{dataset}", "{baseline}"),
    benchmark:
        P.benchmark("train_baseline", "{dataset}", "{baseline}")
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["models"]["training"]["threads"]
    resources:
        **gpu_job(mem_mb=8000, runtime=240),
    params:
        kind=lambda wc: wc.baseline.split("_")[0],
        size=config["image_size"],
        params=lambda wc: config["models"][wc.baseline.split("_")[0]],
        seed=lambda wc: train_seed(wc.dataset, wc.baseline),
        maps_seed=lambda wc: derive_seed(SEED, "maps", wc.dataset, wc.baseline),
    script:
        "../scripts/train_baseline.py"
