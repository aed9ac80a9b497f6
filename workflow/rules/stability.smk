# Verdict stability (stats.replicate_seeds = N > 0): the whole audit rerun with N other
# training seeds, each a complete results folder of its own (results/replicas/<k>), then per
# scorecard cell the share of seeds that give the main run's verdict.
rule replica_config:
    output:
        P.replica_config,
    log:
        P.log("replica_config", "{replica}"),
    benchmark:
        P.benchmark("replica_config", "{replica}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=500, runtime=5),
    params:
        config=lambda wc: replica_config(int(wc.replica)),
    script:
        "../scripts/replica_config.py"


rule replica_audit:
    input:
        P.replica_config,
    output:
        list(replica_verdicts().values()),
    log:
        P.log("replica_audit", "{replica}"),
    benchmark:
        P.benchmark("replica_audit", "{replica}")
    conda:
        "../../envs/tensorflow.yaml"
    threads: os.cpu_count() or 1  # capped at --cores; the rerun runs inside this one job
    resources:
        **cpu_job(mem_mb=16000, runtime=1440),
    params:
        python=sys.executable,
        snakefile=workflow.main_snakefile,
    shell:
        "{params.python} -m snakemake -s {params.snakefile} -d . --configfile {input}"
        " --cores {threads} --nolock --rerun-incomplete {output} > {log} 2>&1"


rule verdict_stability:
    input:
        main=P("stats", name="verdicts", ext="csv"),
        replicas=lambda wc: [replica_verdicts(k)[wc.dataset] for k in REPLICAS],
    output:
        csv=report(
            P("stability", ext="csv"),
            caption="../report/verdict_stability.rst",
            category="Tables",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "verdict stability", "format": "csv"},
        ),
        md=P("stability", ext="md"),
    log:
        P.log("verdict_stability", "{dataset}"),
    benchmark:
        P.benchmark("verdict_stability", "{dataset}")
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        **cpu_job(mem_mb=1000, runtime=5),
    script:
        "../scripts/verdict_stability.py"
