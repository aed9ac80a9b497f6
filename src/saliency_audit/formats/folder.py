"""Placeholder: the folder format is being written."""

from .base import DatasetFormat, lazy_writer, read_any_image


def _read(root, layout, options):
    raise NotImplementedError("folder")


FORMAT = DatasetFormat(
    name="folder",
    description="(being written)",
    layout={"images": "images", "labels": "labels.csv"},
    read=_read,
    load_image=read_any_image,
    synthesize=lazy_writer("synth.folder", "write_folder"),
    options={"target": None, "negatives": "absent"},
)
