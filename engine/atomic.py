"""Atomic, durable file writes: a reader (or a crash) never sees half a checkpoint.

Each file is written to a temporary name in the same folder, flushed and fsync'ed, then renamed
over the target with os.replace (atomic on POSIX and Windows); the folder is fsync'ed so the
rename itself survives a power cut.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


_UMASK = os.umask(0)
os.umask(_UMASK)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:          # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write) -> Path:
    """Call write(handle) on a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_json(path: str | Path, obj) -> Path:
    return atomic_write_bytes(path, json.dumps(obj, indent=1, default=float).encode())


def atomic_save_npy(path: str | Path, array) -> Path:
    import numpy as np

    return atomic_write(path, lambda handle: np.save(handle, array, allow_pickle=False))
