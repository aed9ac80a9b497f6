"""Make (or read) the train/val/test split in the paper's ',Image_ID,Split' format."""

import pandas as pd

from saliency_audit import split as splits
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    index = pd.read_csv(smk.input.index, dtype={"image_id": str, "patient_hash": str})
    if "given" in smk.input.keys():
        table = splits.read_split_csv(smk.input.given, index)
        log.info("using the given split %s", smk.input.given)
    else:
        table = splits.make_split(index, dict(smk.params.fractions), smk.params.seed)
    splits.check_split(index, table, smk.wildcards.dataset)
    log.info("split sizes: %s", table["split"].value_counts().to_dict())
    splits.write_split_csv(table, smk.output[0])
