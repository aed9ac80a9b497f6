"""Placeholder: the chexlocalize format is being written."""

from .base import DatasetFormat, lazy_writer, read_any_image


def _read(root, layout, options):
    raise NotImplementedError("chexlocalize")


FORMAT = DatasetFormat(
    name="chexlocalize",
    description="(being written)",
    layout={"images": "images", "labels": "labels.csv"},
    read=_read,
    load_image=read_any_image,
    synthesize=lazy_writer("synth.chexlocalize", "write_chexlocalize"),
    options={"target": None, "negatives": "absent"},
)
