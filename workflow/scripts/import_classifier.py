"""Bring your own classifier: check a .keras file (or a PyTorch model) and copy it into the
results."""

from saliency_audit.jobs.models import import_classifier_job
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    import_classifier_job(
        source=smk.input.source,
        out_model=smk.output.model,
        size=smk.params.size,
        backend=getattr(smk.params, "backend", None),
    )
