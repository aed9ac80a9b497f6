"""Atomic file output: write to a temporary name in the same folder, then rename.

A job killed half-way leaves only a ``.tmp-*`` file behind, never a file with the final
name that a later job could read as complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    ``suffix`` defaults to the suffix of ``path`` so that libraries that infer the format
    from the extension (matplotlib, numpy) keep working.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.stem}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files: give the usual umask permissions
            os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | os.PathLike, frame, **kwargs) -> None:
    """Write a pandas DataFrame atomically (``index=False`` unless given)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)


def save_figure(fig, path: str | os.PathLike, **kwargs) -> None:
    kwargs.setdefault("dpi", 120)
    kwargs.setdefault("bbox_inches", "tight")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)


@contextlib.contextmanager
def open_memmap_atomic(
    path: str | os.PathLike, shape: tuple[int, ...], dtype
) -> Iterator[np.memmap]:
    """Create a ``.npy`` memory map under a temporary name; flush and rename on success.

    Rows are written one at a time by the caller, so peak memory stays flat in the number
    of rows.
    """
    with atomic_path(path, suffix=".npy") as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
        try:
            yield arr
            arr.flush()
        finally:
            del arr


def load_stack(path: str | os.PathLike, mmap: bool = True) -> np.ndarray:
    """Open a ``.npy`` stack read-only, memory-mapped by default."""
    return np.load(path, mmap_mode="r" if mmap else None)
