rule split:
    input:
        unpack(split_inputs),
    output:
        P.split,
    log:
        P.log("split", "{dataset}"),
    benchmark:
        P.benchmark("split", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=1000, runtime=10),
    params:
        fractions=config["split"]["fractions"],
        seed=lambda wc: derive_seed(SEED, "split", wc.dataset),
    script:
        "../scripts/split.py"


rule sample:
    input:
        index=P.index,
        split=P.split,
    output:
        sample=P.sample,
        positives=P.positives,
    log:
        P.log("sample", "{dataset}"),
    benchmark:
        P.benchmark("sample", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=1000, runtime=10),
    params:
        n=config["sample"]["n"],
        seed=lambda wc: derive_seed(SEED, "sample", wc.dataset),
    script:
        "../scripts/sample.py"
