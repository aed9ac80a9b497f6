rule qc_figure:
    input:
        images=f"{RESULTS}/{{dataset}}/images/images.npy",
        masks=f"{RESULTS}/{{dataset}}/images/masks.npy",
        index=f"{RESULTS}/{{dataset}}/images/index.csv",
        boxes=f"{RESULTS}/{{dataset}}/images/boxes.csv",
        split=f"{RESULTS}/{{dataset}}/splits/split.csv",
    output:
        report(
            f"{RESULTS}/{{dataset}}/figures/qc.png",
            caption="../report/qc.rst",
            category="Data",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "quality control"},
        ),
    log:
        f"{RESULTS}/logs/qc_figure/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/qc_figure/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        task=lambda wc: config["datasets"][wc.dataset]["task"],
        n_examples=config["qc"]["n_examples"],
        seed=lambda wc: derive_seed(SEED, "qc", wc.dataset),
    script:
        "../scripts/qc_figure.py"
