"""Derive independent, stable seeds from the config's root seed and names."""

from __future__ import annotations

import hashlib


def derive_seed(root: int, *names: object) -> int:
    """A 31-bit seed from ``root`` and ``names`` (stable across runs, processes, platforms).

    ``derive_seed(2021, "split", "pneumonia")`` differs from ``derive_seed(2021, "sample",
    "pneumonia")``, so stages never share a random stream by accident.
    """
    text = "\x1f".join([str(int(root)), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
