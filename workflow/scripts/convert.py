"""Convert a dataset's DICOMs and annotations to model-ready stacks and an index."""

from pathlib import Path

from saliency_audit import io
from saliency_audit.convert import ConvertOptions, convert_dataset
from saliency_audit.datasets import read_dataset
from saliency_audit.logs import job

with job(snakemake) as log:  # noqa: F821 (snakemake is injected)
    smk = snakemake  # noqa: F821
    p = smk.params
    records = read_dataset(p.fmt, p.root, dict(p.layout))
    log.info(
        "%s: %d labelled images, %d positive",
        smk.wildcards.dataset,
        len(records),
        sum(r.label for r in records),
    )
    allowed = None if p.allowed_modalities is None else frozenset(p.allowed_modalities)
    opts = ConvertOptions(
        size=p.size,
        salt=p.salt,
        labels_csv=str(Path(p.root) / p.layout["labels"]),
        rle_mode=p.rle_mode,
        skip_unreadable=p.skip_unreadable,
        allowed_modalities=allowed,
    )
    summary = convert_dataset(
        records,
        Path(smk.output.images).parent,
        opts,
        threads=smk.threads,
        name=smk.wildcards.dataset,
    )
    io.write_json(smk.output.summary, summary)
