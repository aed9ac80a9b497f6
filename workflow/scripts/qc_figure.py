"""Dataset QC figure: examples with ground truth, class balance per split."""

import pandas as pd

from saliency_audit import io
from saliency_audit import split as splits
from saliency_audit.logs import job
from saliency_audit.qc import qc_figure

with job(snakemake):  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    index = pd.read_csv(smk.input.index, dtype={"image_id": str, "patient_hash": str})
    qc_figure(
        io.load_stack(smk.input.images),
        io.load_stack(smk.input.masks),
        index,
        splits.load_split(smk.input.split),
        pd.read_csv(smk.input.boxes, dtype={"image_id": str}),
        smk.output[0],
        title=smk.wildcards.dataset,
        task=smk.params.task,
        n_examples=smk.params.n_examples,
        seed=smk.params.seed,
    )
