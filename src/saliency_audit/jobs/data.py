"""Data jobs: synthesize a look-alike, convert a dataset, split it, sample it, draw its QC."""

from __future__ import annotations

import logging

from .. import io
from .. import split as splits
from ..convert import ConvertOptions, convert_dataset, read_boxes, read_index
from ..formats import dataset_options, get_format, read_dataset

log = logging.getLogger(__name__)


def synthesize_job(*, fmt: str, out_dir, params: dict, seed: int) -> dict:
    """A synthetic look-alike of format ``fmt`` in ``out_dir`` (replaced atomically)."""
    from ..synth import synthesize

    summary = synthesize(fmt, out_dir, dict(params), seed)
    log.info("summary: %s", summary)
    return summary


def convert_job(
    *,
    dataset: str,
    fmt: str,
    root,
    settings: dict,
    out: dict,
    size: int,
    salt: str,
    skip_unreadable: bool,
    allowed_modalities,
    threads: int,
) -> dict:
    """Read a dataset in its format's layout and convert it to the stacks and CSVs ``out``
    (``images``, ``masks``, ``index``, ``boxes``, ``summary``). ``settings``: the dataset's
    config (layout overrides and format options)."""
    unannotated = settings.get("unannotated") or "drop"
    records = read_dataset(fmt, root, settings, settings, unannotated)
    log.info(
        "%s: %d labelled images, %d positive", dataset, len(records), sum(r.label for r in records)
    )
    opts = ConvertOptions(
        size=size,
        salt=salt,
        load_image=get_format(fmt).load_image,
        skip_unreadable=skip_unreadable,
        allowed_modalities=None if allowed_modalities is None else frozenset(allowed_modalities),
        keep_unannotated=unannotated == "train",
    )
    chosen = dataset_options(get_format(fmt), settings)
    summary = {"format": fmt, **{k: chosen[k] for k in ("target", "negatives") if k in chosen}}
    summary.update(convert_dataset(records, out, opts, threads=threads, name=dataset))
    io.write_json(out["summary"], summary)
    return summary


def split_job(*, dataset: str, index, given, out, fractions: dict, seed: int) -> None:
    """The train/val/test split in the paper's ``,Image_ID,Split`` format: ``given`` (a CSV)
    or a patient-level, label-stratified split with ``fractions``."""
    table_index = read_index(index)
    if given:
        table = splits.read_split_csv(given, table_index)
        log.info("using the given split %s", given)
    else:
        table = splits.make_split(table_index, dict(fractions), seed)
    splits.check_split(table_index, table, dataset)
    log.info("split sizes: %s", table["split"].value_counts().to_dict())
    splits.write_split_csv(table, out)


def sample_job(*, dataset: str, index, split, out_sample, out_positives, n: int, seed: int):
    """The ``n`` positive test images of randomization and repeatability (seeded), and every
    positive test image (the rows of every saliency map stack)."""
    table_index = read_index(index)
    table = splits.load_split(split)
    chosen = splits.sample_positives(table_index, table, n, seed, dataset)
    log.info("sampled %d positive test images", len(chosen))
    positives = splits.positive_test_rows(table_index, table, chosen)
    log.info("%d positive test images in all", len(positives))
    io.write_csv(out_sample, chosen)
    io.write_csv(out_positives, positives)


def qc_job(*, dataset: str, images, masks, index, boxes, split, out, task, n_examples, seed):
    """The QC figure: examples with their ground truth, class balance per split."""
    from ..figures.qc import qc_figure

    qc_figure(
        io.load_stack(images),
        io.load_stack(masks),
        read_index(index),
        splits.load_split(split),
        read_boxes(boxes),
        out,
        title=dataset,
        task=task,
        n_examples=n_examples,
        seed=seed,
    )
