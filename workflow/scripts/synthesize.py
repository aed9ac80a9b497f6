"""Generate a synthetic look-alike of a real dataset layout (SIIM-ACR or RSNA)."""

from saliency_audit.logs import job
from saliency_audit.synth import synthesize

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    summary = synthesize(smk.params.fmt, smk.output[0], dict(smk.params.synthetic), smk.params.seed)
    log.info("summary: %s", summary)
