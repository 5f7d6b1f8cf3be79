"""Making writes durable: the one place that calls ``fsync``.

A rename or a new file is only durable once the file *and* its directory are synced; the store
and the ledger both rely on this before they commit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def fsync_path(path: Path) -> None:
    """``fsync`` a file or a directory (a directory holds the names of the files in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        fsync_path(path)
