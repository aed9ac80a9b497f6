"""The planted-shortcut benchmark's phantoms: marker on training positives, clean twins."""

from saliency_audit.jobs.trust import shortcut_data_job
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    shortcut_data_job(
        settings=dict(smk.params.settings),
        out_size=smk.params.size,
        seed=smk.params.seed,
        out=dict(smk.output.items()),
        log=log,
    )
