# Trust tests beyond the paper (config section trust:): faithfulness curves of the primary
# model's maps, the data randomization test's classifier (labels permuted within the training
# split) and its maps, and the planted-shortcut benchmark on its own synthetic phantoms.


rule faithfulness:
    input:
        model=lambda wc: model_path(primary_model(), wc.dataset),
        images=P.images,
        index=P.index,
        split=P.split,
        positives=P.positives,
        maps=lambda wc: _flatten(faithfulness_maps(wc)),
    output:
        csv=P.faithfulness,
        curves=P.faithfulness_curves,
        figure=report(
            P.faithfulness_figure,
            caption="../report/faithfulness.rst",
            category="Trust tests beyond the paper",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "faithfulness curves"},
        ),
    log:
        P.log("faithfulness", "{dataset}"),
    benchmark:
        P.benchmark("faithfulness", "{dataset}")
    conda:
        model_env(primary_model())
    threads: config["saliency"]["threads"]
    resources:
        **gpu_job(mem_mb=8000, runtime=120),
    params:
        model_name=primary_model(),
        maps=faithfulness_maps,
        settings=TRUST["faithfulness"],
        ranking_map=config["metrics"]["ranking_map"],
        seed=lambda wc: derive_seed(SEED, "faithfulness", wc.dataset),
        layer=gradcam_layer(primary_model()),
        backend=backend_params(primary_model()),
        size=config["image_size"],
        batch_size=config["saliency"]["batch_size"],
        explain=config["saliency"]["explain"],
    script:
        "../scripts/faithfulness.py"


rule train_permuted_classifier:
    input:
        unpack(weights_input),
        images=P.images,
        index=P.index,
        split=P.split,
    output:
        model=P.permuted_model,
        history=P.permuted_history,
        curve=report(
            P.permuted_curve,
            caption="../report/learning_curve.rst",
            category="Trust tests beyond the paper",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model} (labels permuted)"},
        ),
        predictions=P.permuted_predictions,
        metrics=P.permuted_metrics,
    log:
        P.log("train_permuted_classifier", "{dataset}", "{model}"),
    benchmark:
        P.benchmark("train_permuted_classifier", "{dataset}", "{model}")
    wildcard_constraints:
        model=data_randomized_model() or "^$",
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
        # the trained model's own seed: the twins differ in their training labels only
        seed=lambda wc: train_seed(wc.dataset, wc.model),
        permute_seed=lambda wc: derive_seed(SEED, "permute_labels", wc.dataset, wc.model),
        n_boot=config["models"]["evaluation"]["n_bootstrap"],
        eval_seed=lambda wc: derive_seed(SEED, "evaluate", wc.dataset, wc.model, "permuted"),
    script:
        "../scripts/train_classifier.py"


rule permuted_label_maps:
    input:
        model=P.permuted_model,
        images=P.images,
        positives=P.positives,
    output:
        maps=expand(P.random_maps, step=PERMUTED_LABELS, method=METHODS, allow_missing=True),
        raw=expand(P.random_raw, step=PERMUTED_LABELS, method=METHODS, allow_missing=True),
        meta=expand(P.random_meta, step=PERMUTED_LABELS, method=METHODS, allow_missing=True),
    log:
        P.log("permuted_label_maps", "{dataset}", "{model}"),
    benchmark:
        P.benchmark("permuted_label_maps", "{dataset}", "{model}")
    wildcard_constraints:
        model=data_randomized_model() or "^$",
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["saliency"]["threads"]
    resources:
        **gpu_job(mem_mb=8000, runtime=240),
    params:
        layer=lambda wc: gradcam_layer(wc.model),
        backend=lambda wc: backend_params(wc.model),
        size=config["image_size"],
        batch_size=config["saliency"]["batch_size"],
        explain=config["saliency"]["explain"],
        tasks=lambda wc: [map_task(wc.dataset, wc.model, m, PERMUTED_LABELS) for m in METHODS],
        sampled_only=True,
    script:
        "../scripts/saliency.py"


rule shortcut_data:
    output:
        **SHORTCUT_DATA,
    log:
        P.log("shortcut_data"),
    benchmark:
        P.benchmark("shortcut_data")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=2000, runtime=30),
    params:
        settings=TRUST["shortcut"],
        size=config["image_size"],
        seed=derive_seed(SEED, "shortcut", "data"),
    script:
        "../scripts/shortcut_data.py"


rule train_shortcut_classifier:
    input:
        images=lambda wc: SHORTCUT_DATA["images" if wc.variant == "shortcut" else "clean"],
        index=SHORTCUT_DATA["index"],
        split=SHORTCUT_DATA["split"],
    output:
        model=P.shortcut_model,
        history=P.shortcut_history,
        curve=report(
            P.shortcut_curve,
            caption="../report/learning_curve.rst",
            category="Trust tests beyond the paper",
            subcategory="planted shortcut",
            labels={"model": "{variant} classifier"},
        ),
        predictions=P.shortcut_predictions,
        metrics=P.shortcut_metrics,
    log:
        P.log("train_shortcut_classifier", "{variant}"),
    benchmark:
        P.benchmark("train_shortcut_classifier", "{variant}")
    wildcard_constraints:
        variant="|".join(SHORTCUT_VARIANTS),
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["models"]["training"]["threads"]
    resources:
        **gpu_job(mem_mb=8000, runtime=240),
    params:
        arch=shortcut_arch() if TRUST["shortcut"]["enabled"] else None,
        size=config["image_size"],
        training={**config["models"]["training"], **TRUST["shortcut"]["training"]},
        init="random (trained from scratch)",
        title=lambda wc: f"planted-shortcut benchmark: {wc.variant} classifier",
        # one seed for both: the twins differ in the marker only
        seed=derive_seed(SEED, "train", "shortcut"),
        n_boot=config["models"]["evaluation"]["n_bootstrap"],
        eval_seed=derive_seed(SEED, "evaluate", "shortcut"),
    script:
        "../scripts/train_classifier.py"


rule shortcut_maps:
    input:
        model=P.shortcut_model,
        images=SHORTCUT_DATA["images"],
        positives=SHORTCUT_DATA["positives"],
    output:
        maps=[f["maps"] for f in shortcut_map_files().values()],
        raw=[f["raw"] for f in shortcut_map_files().values()],
        meta=[f["meta"] for f in shortcut_map_files().values()],
    log:
        P.log("shortcut_maps", "{variant}"),
    benchmark:
        P.benchmark("shortcut_maps", "{variant}")
    wildcard_constraints:
        variant="|".join(SHORTCUT_VARIANTS),
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["saliency"]["threads"]
    resources:
        **gpu_job(mem_mb=8000, runtime=240),
    params:
        layer=architecture_layer(shortcut_arch()) if TRUST["shortcut"]["enabled"] else None,
        backend={"spec": None, "arch": None, "device": config["saliency"]["device"]},
        size=config["image_size"],
        batch_size=config["saliency"]["batch_size"],
        explain=config["saliency"]["explain"],
        tasks=lambda wc: shortcut_tasks(wc.variant),
    script:
        "../scripts/saliency.py"


rule shortcut_benchmark:
    input:
        maps=[
            p
            for v in SHORTCUT_VARIANTS
            for f in shortcut_map_files(v).values()
            for p in f.values()
        ],
        data=[SHORTCUT_DATA[k] for k in ("positives", "masks", "marker")],
        metrics=expand(P.shortcut_metrics, variant=SHORTCUT_VARIANTS),
    output:
        scores=P("shortcut_table", name="scores"),
        verdicts=P("shortcut_table", name="verdicts"),
        section=P.shortcut_section,
        figure=report(
            P.shortcut_figure,
            caption="../report/shortcut.rst",
            category="Trust tests beyond the paper",
            subcategory="planted shortcut",
            labels={"figure": "marker and lesion shares"},
        ),
    log:
        P.log("shortcut_benchmark"),
    benchmark:
        P.benchmark("shortcut_benchmark")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=4000, runtime=30),
    params:
        **METRIC_PARAMS,
        maps={v: shortcut_map_files(v) for v in SHORTCUT_VARIANTS},
        data={k: SHORTCUT_DATA[k] for k in ("positives", "masks", "marker")},
        classifiers={v: P("shortcut_metrics", variant=v) for v in SHORTCUT_VARIANTS},
        settings=TRUST["shortcut"],
        alpha=config["stats"]["alpha"],
        adjust=config["stats"]["adjust"],
        seed=derive_seed(SEED, "stats", "shortcut"),
    script:
        "../scripts/shortcut_benchmark.py"
