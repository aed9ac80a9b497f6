"""Choose the N positive test images used by the randomization and repeatability tests, and
list all positive test images (the rows of every saliency map stack)."""

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
    positives = splits.positive_test_rows(index, table, chosen)
    log.info("%d positive test images in all", len(positives))
    io.write_csv(smk.output.sample, chosen)
    io.write_csv(smk.output.positives, positives)
