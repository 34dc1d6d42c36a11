"""The one way routerctl writes a local file: never through a planted symlink, never half.

``write_atomic`` creates a fresh temporary file next to the destination (``mkstemp``:
``O_CREAT|O_EXCL``, mode 0600, a random name), writes and fsyncs it, sets the final mode,
and renames it over the destination. A symlink planted at the destination is replaced,
not followed; a reader sees the old file or the new one, never a partial one. The
default mode is 0600: bundles, the flap cache and anything else that may hold a secret
stay private to the user.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Atomically replace ``path`` with ``data`` (``mode``); raises ``OSError``."""
    directory = path.parent
    fd, tmp = _mkstemp(directory, path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _mkstemp(directory: Path, name: str) -> tuple[int, str]:
    return tempfile.mkstemp(prefix=f".{name[:64]}.", suffix=".tmp", dir=directory)


def _fsync_dir(directory: Path) -> None:
    """Persist the rename (best effort: not every filesystem lets a directory be fsynced)."""
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


__all__ = ["write_atomic"]
