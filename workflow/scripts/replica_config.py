"""The config of one rerun of the audit with other training seeds (stats.replicate_seeds)."""

import yaml

from saliency_audit import io
from saliency_audit.logs import job

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    io.write_text(smk.output[0], yaml.safe_dump(dict(smk.params.config), sort_keys=False))
