# cheXlocalize's evaluation protocol (Saporta et al. 2022): maps of the further images it needs
# and every validation/test probability (a TensorFlow job per classifier; with
# saliency.jobs: per_model the saliency job makes them with the model it has loaded), then the
# evaluation of a dataset (one CPU job).


if LOCALIZE["enabled"] and config["saliency"]["jobs"] == "per_method":

    rule localize_maps:
        input:
            model=model_file,
            images=P.images,
            index=P.index,
            split=P.split,
        output:
            **protocol_outputs(),
        log:
            P.log("localize_maps", "{dataset}", "{model}"),
        benchmark:
            P.benchmark("localize_maps", "{dataset}", "{model}")
        wildcard_constraints:
            model="|".join(localize_models()),
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
            protocol=protocol_params,
        script:
            "../scripts/localize_maps.py"


if LOCALIZE["enabled"]:

    rule localize:
        input:
            unpack(localize_inputs),
        output:
            **localize_outputs(),
            segmentations=expand(
                P.localize_segmentations,
                model=localize_models() + list(localize_ensembles()),
                method=localize_methods(),
                allow_missing=True,
            ),
        log:
            P.log("localize", "{dataset}"),
        benchmark:
            P.benchmark("localize", "{dataset}")
        conda:
            "../../envs/data.yaml"
        threads: 1
        resources:
            **cpu_job(mem_mb=4000, runtime=30),
        params:
            finding=lambda wc: localize_finding(wc.dataset),
            models=localize_model_files,
            ensembles=localize_ensembles(),
            benchmarks=lambda wc: {
                b: {**f, "label": high_baseline(config["datasets"][wc.dataset]["task"])[1]}
                for b, f in baseline_files(wc).items()
                if b == high_baseline_model(wc.dataset)
            },
            human=lambda wc: human_benchmark(wc.dataset),
            settings=localize_settings(),
            seed=lambda wc: derive_seed(SEED, "localize", wc.dataset),
            primary=primary_model(),
            segmentations=lambda wc: localize_segmentation_files(wc.dataset),
        script:
            "../scripts/localize.py"
