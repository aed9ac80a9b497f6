if config["saliency"]["jobs"] == "per_method":

    rule saliency:
        input:
            model=f"{MODEL_DIR}/model.keras",
            images=f"{DATA}/images.npy",
            positives=POSITIVES,
        output:
            maps=[f"{SALIENCY_DIR}/{{method}}.npy"],
            meta=[f"{SALIENCY_DIR}/{{method}}.json"],
        log:
            f"{RESULTS}/logs/saliency/{{dataset}}/{{model}}/{{method}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/saliency/{{dataset}}/{{model}}/{{method}}.tsv"
        wildcard_constraints:
            method="|".join(METHODS),
        conda:
            "../../envs/tensorflow.yaml"
        threads: config["saliency"]["threads"]
        resources:
            mem_mb=8000,
            runtime=240,
            gpu=1,
        params:
            method_params=lambda wc: method_params(wc.method),
            seed=lambda wc: noise_seed(wc.dataset, wc.method),
            layer=lambda wc: gradcam_layer(wc.model),
            size=config["image_size"],
            batch_size=config["saliency"]["batch_size"],
            explain=config["saliency"]["explain"],
            tasks=lambda wc, output: saliency_tasks(wc, output, [wc.method]),
        script:
            "../scripts/saliency.py"

else:

    rule saliency_all_methods:
        input:
            model=f"{MODEL_DIR}/model.keras",
            images=f"{DATA}/images.npy",
            positives=POSITIVES,
        output:
            maps=expand(
                f"{SALIENCY_DIR}/{{method}}.npy", method=METHODS, allow_missing=True
            ),
            meta=expand(
                f"{SALIENCY_DIR}/{{method}}.json", method=METHODS, allow_missing=True
            ),
        log:
            f"{RESULTS}/logs/saliency/{{dataset}}/{{model}}/all_methods.log",
        benchmark:
            f"{RESULTS}/benchmarks/saliency/{{dataset}}/{{model}}/all_methods.tsv"
        conda:
            "../../envs/tensorflow.yaml"
        threads: config["saliency"]["threads"]
        resources:
            mem_mb=8000,
            runtime=480,
            gpu=1,
        params:
            method_params={m: method_params(m) for m in METHODS},
            seed=lambda wc: {m: noise_seed(wc.dataset, m) for m in METHODS},
            layer=lambda wc: gradcam_layer(wc.model),
            size=config["image_size"],
            batch_size=config["saliency"]["batch_size"],
            explain=config["saliency"]["explain"],
            tasks=lambda wc, output: saliency_tasks(wc, output, METHODS),
        script:
            "../scripts/saliency.py"


rule saliency_panel:
    input:
        maps=expand(
            f"{SALIENCY_DIR}/{{method}}.npy", method=METHODS, allow_missing=True
        ),
        images=f"{DATA}/images.npy",
        masks=f"{DATA}/masks.npy",
        positives=POSITIVES,
    output:
        report(
            f"{RESULTS}/{{dataset}}/figures/saliency_{{model}}.png",
            caption="../report/saliency_panel.rst",
            category="Saliency maps",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model}"},
        ),
    log:
        f"{RESULTS}/logs/saliency_panel/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/saliency_panel/{{dataset}}/{{model}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        methods=METHODS,
        n_images=config["saliency"]["panel_images"],
    script:
        "../scripts/saliency_panel.py"


if config["randomization"]["jobs"] == "per_method":

    rule randomize:
        input:
            model=f"{MODEL_DIR}/model.keras",
            images=f"{DATA}/images.npy",
            positives=POSITIVES,
        output:
            maps=[f"{RANDOM_DIR}/{{step}}/{{method}}.npy"],
            meta=[f"{RANDOM_DIR}/{{step}}/{{method}}.json"],
        log:
            f"{RESULTS}/logs/randomize/{{dataset}}/{{model}}/{{step}}/{{method}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/randomize/{{dataset}}/{{model}}/{{step}}/{{method}}.tsv"
        wildcard_constraints:
            model="|".join(RANDOMIZED) if RANDOMIZED else "^$",
            step="(cascade|independent)_[A-Za-z0-9_]+",
            method="|".join(METHODS),
        conda:
            "../../envs/tensorflow.yaml"
        threads: config["saliency"]["threads"]
        resources:
            mem_mb=8000,
            runtime=240,
            gpu=1,
        params:
            arch=lambda wc: model_arch(wc.model),
            steps=lambda wc: [wc.step],
            method_params=lambda wc: method_params(wc.method),
            seed=lambda wc: derive_seed(SEED, "randomize", wc.dataset, wc.model),
            layer=lambda wc: gradcam_layer(wc.model),
            size=config["image_size"],
            batch_size=config["saliency"]["batch_size"],
            explain=config["saliency"]["explain"],
            tasks=lambda wc, output: randomize_tasks(wc, output, [wc.step], [wc.method]),
        script:
            "../scripts/randomize.py"

else:

    for _model in RANDOMIZED:

        rule:
            name:
                f"randomize_{_model}"
            input:
                model=f"{RESULTS}/{{dataset}}/models/{_model}/model.keras",
                images=f"{DATA}/images.npy",
                positives=POSITIVES,
            output:
                maps=expand(
                    f"{RESULTS}/{{dataset}}/randomization/{_model}/{{step}}/{{method}}.npy",
                    step=step_names(_model),
                    method=METHODS,
                    allow_missing=True,
                ),
                meta=expand(
                    f"{RESULTS}/{{dataset}}/randomization/{_model}/{{step}}/{{method}}.json",
                    step=step_names(_model),
                    method=METHODS,
                    allow_missing=True,
                ),
            log:
                f"{RESULTS}/logs/randomize/{{dataset}}/{_model}/all_steps.log",
            benchmark:
                f"{RESULTS}/benchmarks/randomize/{{dataset}}/{_model}/all_steps.tsv"
            conda:
                "../../envs/tensorflow.yaml"
            threads: config["saliency"]["threads"]
            resources:
                mem_mb=8000,
                runtime=960,
                gpu=1,
            params:
                arch=model_arch(_model),
                steps=step_names(_model),
                method_params={m: method_params(m) for m in METHODS},
                seed=lambda wc, _m=_model: derive_seed(
                    SEED, "randomize", wc.dataset, _m
                ),
                layer=gradcam_layer(_model),
                size=config["image_size"],
                batch_size=config["saliency"]["batch_size"],
                explain=config["saliency"]["explain"],
                tasks=lambda wc, output, _m=_model: randomize_tasks(
                    wc, output, step_names(_m), METHODS
                ),
            script:
                "../scripts/randomize.py"
