"""Logging for workflow jobs: everything goes to the rule's ``log:`` file and to stderr.

``with job(snakemake):`` wraps a thin script: an :class:`InputError` ends the job with one
clear ``ERROR:`` line (no traceback noise); any other exception is logged with its traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path

from .errors import InputError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup(log_path: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
        root.addHandler(handler)
    root.setLevel(level)
    # the saliency package logs one line per XRAI map; our engine reports progress itself
    logging.getLogger("saliency.core").setLevel(max(level, logging.WARNING))
    return logging.getLogger("saliency_audit")


@contextlib.contextmanager
def job(smk=None, name: str | None = None):
    """Context for a Snakemake ``script:`` job; ``smk`` is the injected ``snakemake`` object."""
    log_path = smk.log[0] if smk is not None and len(smk.log) else None
    rule = name or (smk.rule if smk is not None else "job")
    logger = setup(log_path)
    start = time.perf_counter()
    logger.info("%s: started", rule)
    try:
        yield logger
    except InputError as exc:
        logger.error("%s", exc)
        raise SystemExit(f"ERROR in rule {rule}: {exc}") from None
    except Exception:
        logger.exception("%s: failed", rule)
        raise
    logger.info("%s: done in %.1f s", rule, time.perf_counter() - start)
