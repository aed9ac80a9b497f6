"""Placeholder: the vindr format is being written."""

from .base import DatasetFormat, lazy_writer, read_any_image


def _read(root, layout, options):
    raise NotImplementedError("vindr")


FORMAT = DatasetFormat(
    name="vindr",
    description="(being written)",
    layout={"images": "images", "labels": "labels.csv"},
    read=_read,
    load_image=read_any_image,
    synthesize=lazy_writer("synth.vindr", "write_vindr"),
    options={"target": None, "negatives": "absent"},
)
