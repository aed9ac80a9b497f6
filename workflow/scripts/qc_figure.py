"""Dataset QC figure: examples with ground truth, class balance per split."""

from saliency_audit.jobs.data import qc_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    qc_job(
        dataset=smk.wildcards.dataset,
        **dict(smk.input.items()),
        out=smk.output[0],
        task=smk.params.task,
        n_examples=smk.params.n_examples,
        seed=smk.params.seed,
    )
