"""Placeholder: the nih format is being written."""

from .base import DatasetFormat, lazy_writer, read_any_image


def _read(root, layout, options):
    raise NotImplementedError("nih")


FORMAT = DatasetFormat(
    name="nih",
    description="(being written)",
    layout={"images": "images", "labels": "labels.csv"},
    read=_read,
    load_image=read_any_image,
    synthesize=lazy_writer("synth.nih", "write_nih"),
    options={"target": None, "negatives": "absent"},
)
