rule synthesize:
    output:
        directory(f"{RESULTS}/synthetic/{{dataset}}"),
    log:
        f"{RESULTS}/logs/synthesize/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/synthesize/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
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
        images=f"{RESULTS}/{{dataset}}/images/images.npy",
        masks=f"{RESULTS}/{{dataset}}/images/masks.npy",
        index=f"{RESULTS}/{{dataset}}/images/index.csv",
        boxes=f"{RESULTS}/{{dataset}}/images/boxes.csv",
        summary=f"{RESULTS}/{{dataset}}/images/convert.json",
    log:
        f"{RESULTS}/logs/convert/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/convert/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: config["convert"]["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        fmt=lambda wc: config["datasets"][wc.dataset]["format"],
        root=lambda wc: dataset_root(wc.dataset),
        layout=lambda wc: dataset_layout(wc.dataset),
        rle_mode=lambda wc: config["datasets"][wc.dataset]["rle_mode"],
        size=config["image_size"],
        salt=config["privacy"]["salt"],
        skip_unreadable=config["convert"]["skip_unreadable"],
        allowed_modalities=config["convert"]["allowed_modalities"],
    script:
        "../scripts/convert.py"
