if config["saliency"]["jobs"] == "per_method":

    rule saliency:
        input:
            model=model_file,
            images=P.images,
            positives=P.positives,
        output:
            maps=P.saliency_maps,
            raw=P.saliency_raw,
            meta=P.saliency_meta,
        log:
            P.log("saliency", "{dataset}", "{model}", "{method}"),
        benchmark:
            P.benchmark("saliency", "{dataset}", "{model}", "{method}")
        wildcard_constraints:
            method="|".join(METHODS),
        conda:
            model_env
        threads: config["saliency"]["threads"]
        resources:
            **gpu_job(mem_mb=8000, runtime=240),
        params:
            layer=lambda wc: gradcam_layer(wc.model),
            backend=lambda wc: backend_params(wc.model),
            size=config["image_size"],
            batch_size=config["saliency"]["batch_size"],
            explain=config["saliency"]["explain"],
            tasks=lambda wc: saliency_tasks(wc.dataset, wc.model, [wc.method]),
        script:
            "../scripts/saliency.py"

else:

    rule saliency_all_methods:
        input:
            model=model_file,
            images=P.images,
            positives=P.positives,
            index=P.index,
            split=P.split,
        output:
            **protocol_outputs(),
            maps=expand(P.saliency_maps, method=METHODS, allow_missing=True),
            raw=expand(P.saliency_raw, method=METHODS, allow_missing=True),
            meta=expand(P.saliency_meta, method=METHODS, allow_missing=True),
        log:
            P.log("saliency", "{dataset}", "{model}", "all_methods"),
        benchmark:
            P.benchmark("saliency", "{dataset}", "{model}", "all_methods")
        conda:
            model_env
        threads: config["saliency"]["threads"]
        resources:
            **gpu_job(mem_mb=8000, runtime=480),
        params:
            layer=lambda wc: gradcam_layer(wc.model),
            backend=lambda wc: backend_params(wc.model),
            size=config["image_size"],
            batch_size=config["saliency"]["batch_size"],
            explain=config["saliency"]["explain"],
            tasks=lambda wc: saliency_tasks(wc.dataset, wc.model, METHODS),
            protocol=protocol_params,
        script:
            "../scripts/saliency.py"


rule saliency_panel:
    input:
        maps=expand(P.saliency_maps, method=METHODS, allow_missing=True),
        images=P.images,
        masks=P.masks,
        positives=P.positives,
    output:
        report(
            P.saliency_panel,
            caption="../report/saliency_panel.rst",
            category="Saliency maps",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model}"},
        ),
    log:
        P.log("saliency_panel", "{dataset}", "{model}"),
    benchmark:
        P.benchmark("saliency_panel", "{dataset}", "{model}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=2000, runtime=10),
    params:
        maps=lambda wc: {m: map_files(wc.dataset, wc.model, m)["maps"] for m in METHODS},
        n_images=config["saliency"]["panel_images"],
    script:
        "../scripts/saliency_panel.py"


if config["randomization"]["jobs"] == "per_method":

    rule randomize:
        input:
            model=model_file,
            images=P.images,
            positives=P.positives,
        output:
            maps=P.random_maps,
            raw=P.random_raw,
            meta=P.random_meta,
        log:
            P.log("randomize", "{dataset}", "{model}", "{step}", "{method}"),
        benchmark:
            P.benchmark("randomize", "{dataset}", "{model}", "{step}", "{method}")
        wildcard_constraints:
            model="|".join(RANDOMIZED) if RANDOMIZED else "^$",
            step=STEP_PATTERN,
            method="|".join(METHODS),
        conda:
            model_env
        threads: config["saliency"]["threads"]
        resources:
            **gpu_job(mem_mb=8000, runtime=240),
        params:
            steps=lambda wc: step_specs(wc.model, [wc.step]),
            seed=lambda wc: derive_seed(SEED, "randomize", wc.dataset, wc.model),
            layer=lambda wc: gradcam_layer(wc.model),
            backend=lambda wc: backend_params(wc.model),
            size=config["image_size"],
            batch_size=config["saliency"]["batch_size"],
            explain=config["saliency"]["explain"],
            tasks=lambda wc: randomize_tasks(wc.dataset, wc.model, [wc.step], [wc.method]),
        script:
            "../scripts/randomize.py"

else:

    for _model in RANDOMIZED:

        rule:
            name:
                f"randomize_{_model}"
            input:
                model=model_path(_model),
                images=P.images,
                positives=P.positives,
            output:
                maps=expand(
                    P("random_maps", model=_model),
                    step=step_names(_model),
                    method=METHODS,
                    allow_missing=True,
                ),
                raw=expand(
                    P("random_raw", model=_model),
                    step=step_names(_model),
                    method=METHODS,
                    allow_missing=True,
                ),
                meta=expand(
                    P("random_meta", model=_model),
                    step=step_names(_model),
                    method=METHODS,
                    allow_missing=True,
                ),
            log:
                P.log("randomize", "{dataset}", _model, "all_steps"),
            benchmark:
                P.benchmark("randomize", "{dataset}", _model, "all_steps")
            conda:
                model_env(_model)
            threads: config["saliency"]["threads"]
            resources:
                **gpu_job(mem_mb=8000, runtime=960),
            params:
                steps=step_specs(_model),
                seed=lambda wc, _m=_model: derive_seed(SEED, "randomize", wc.dataset, _m),
                layer=gradcam_layer(_model),
                backend=backend_params(_model),
                size=config["image_size"],
                batch_size=config["saliency"]["batch_size"],
                explain=config["saliency"]["explain"],
                tasks=lambda wc, _m=_model: randomize_tasks(wc.dataset, _m, step_names(_m), METHODS),
            script:
                "../scripts/randomize.py"
