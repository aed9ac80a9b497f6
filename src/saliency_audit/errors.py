"""Exceptions with messages that name the culprit (file, row, config key)."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a file, CSV row, or config value that cannot be used.

    The message always names the offending file/row/key so a user can fix it.
    """


class DicomError(InputError):
    """A DICOM file that cannot be turned into a 2-D grayscale image."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):  # survive pickling across worker processes
        return type(self), (self.path, self.reason)


class AnnotationError(InputError):
    """A malformed annotation (RLE string, bounding box) in a label CSV."""

    def __init__(self, source, row, reason: str):
        self.source = str(source)
        self.row = row
        self.reason = reason
        where = f"{source}, row {row}" if row is not None else f"{source}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # survive pickling across worker processes
        return type(self), (self.source, self.row, self.reason)
