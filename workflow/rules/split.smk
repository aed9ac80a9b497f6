rule split:
    input:
        unpack(split_inputs),
    output:
        f"{RESULTS}/{{dataset}}/splits/split.csv",
    log:
        f"{RESULTS}/logs/split/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/split/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        fractions=config["split"]["fractions"],
        seed=lambda wc: derive_seed(SEED, "split", wc.dataset),
    script:
        "../scripts/split.py"


rule sample:
    input:
        index=f"{RESULTS}/{{dataset}}/images/index.csv",
        split=f"{RESULTS}/{{dataset}}/splits/split.csv",
    output:
        sample=f"{RESULTS}/{{dataset}}/splits/sample.csv",
        positives=f"{RESULTS}/{{dataset}}/splits/positives.csv",
    log:
        f"{RESULTS}/logs/sample/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sample/{{dataset}}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        n=config["sample"]["n"],
        seed=lambda wc: derive_seed(SEED, "sample", wc.dataset),
    script:
        "../scripts/sample.py"
