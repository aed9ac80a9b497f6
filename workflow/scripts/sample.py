"""Choose the N positive test images used by the randomization and repeatability tests."""

import pandas as pd

from saliency_audit import io
from saliency_audit import split as splits
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    index = pd.read_csv(smk.input.index, dtype={"image_id": str, "patient_hash": str})
    table = splits.load_split(smk.input.split)
    chosen = splits.sample_positives(
        index, table, smk.params.n, smk.params.seed, smk.wildcards.dataset
    )
    log.info("sampled %d positive test images", len(chosen))
    io.write_csv(smk.output[0], chosen)
