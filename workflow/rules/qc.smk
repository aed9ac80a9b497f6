rule qc_figure:
    input:
        images=P.images,
        masks=P.masks,
        index=P.index,
        boxes=P.boxes,
        split=P.split,
    output:
        report(
            P.qc_figure,
            caption="../report/qc.rst",
            category="Data",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "quality control"},
        ),
    log:
        P.log("qc_figure", "{dataset}"),
    benchmark:
        P.benchmark("qc_figure", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=2000, runtime=10),
    params:
        task=lambda wc: config["datasets"][wc.dataset]["task"],
        n_examples=config["qc"]["n_examples"],
        seed=lambda wc: derive_seed(SEED, "qc", wc.dataset),
    script:
        "../scripts/qc_figure.py"
