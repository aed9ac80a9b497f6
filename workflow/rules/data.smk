rule synthesize:
    output:
        directory(P.synthetic),
    log:
        P.log("synthesize", "{dataset}"),
    benchmark:
        P.benchmark("synthesize", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=2000, runtime=30),
    params:
        fmt=lambda wc: config["datasets"][wc.dataset]["format"],
        synthetic=lambda wc: config["datasets"][wc.dataset]["synthetic"],
        seed=lambda wc: derive_seed(SEED, "synthesize", wc.dataset),
    script:
        "../scripts/synthesize.py"


rule convert:
    input:
        unpack(convert_inputs),
    output:
        images=P.images,
        masks=P.masks,
        index=P.index,
        boxes=P.boxes,
        summary=P.convert_summary,
    log:
        P.log("convert", "{dataset}"),
    benchmark:
        P.benchmark("convert", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: config["convert"]["threads"]
    resources:
        **cpu_job(mem_mb=4000, runtime=120),
    params:
        fmt=lambda wc: config["datasets"][wc.dataset]["format"],
        root=lambda wc: dataset_root(wc.dataset),
        settings=lambda wc: config["datasets"][wc.dataset],
        size=config["image_size"],
        salt=config["privacy"]["salt"],
        skip_unreadable=config["convert"]["skip_unreadable"],
        allowed_modalities=config["convert"]["allowed_modalities"],
    script:
        "../scripts/convert.py"
