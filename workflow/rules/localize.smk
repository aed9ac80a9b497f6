# cheXlocalize's evaluation protocol (Saporta et al. 2022): maps of the further images it needs
# (one TensorFlow job per classifier), then the evaluation of a dataset (one CPU job).


if LOCALIZE["enabled"]:

    rule localize_maps:
        input:
            model=P.model,
            images=P.images,
            index=P.index,
            split=P.split,
        output:
            maps=expand(P.localize_maps, method=localize_methods(), allow_missing=True),
            meta=expand(P.localize_meta, method=localize_methods(), allow_missing=True),
            probabilities=P.localize_probabilities,
        log:
            P.log("localize_maps", "{dataset}", "{model}"),
        benchmark:
            P.benchmark("localize_maps", "{dataset}", "{model}")
        wildcard_constraints:
            model="|".join(localize_models()),
        conda:
            "../../envs/tensorflow.yaml"
        threads: config["saliency"]["threads"]
        resources:
            **gpu_job(mem_mb=8000, runtime=240),
        params:
            layer=lambda wc: gradcam_layer(wc.model),
            size=config["image_size"],
            batch_size=config["saliency"]["batch_size"],
            explain=config["saliency"]["explain"],
            settings=localize_settings(),
            tasks=lambda wc: [
                {
                    **map_task(wc.dataset, wc.model, m),
                    "out_maps": P("localize_maps", dataset=wc.dataset, model=wc.model, method=m),
                    "out_json": P("localize_meta", dataset=wc.dataset, model=wc.model, method=m),
                    "out_raw": None,
                }
                for m in localize_methods()
            ],
        script:
            "../scripts/localize_maps.py"

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
