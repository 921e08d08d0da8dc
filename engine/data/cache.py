"""The on-disk cache for converted datasets: one folder, keys that change with the code.

Converted motions are expensive (the Bandai archive takes minutes to convert) and cheap to keep,
so every conversion lands here once. A key mixes the source's identity (size, mtime or a hash)
with CODE_VERSION, so a change in a reader or converter invalidates old entries instead of
silently serving stale motions.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


# Bump when a reader, the canonical form or a converter changes what lands in the cache.
CODE_VERSION = "data-1"


def cache_dir() -> Path:
    """$MOTIONLEX_CACHE or ~/.cache/motionlex (created on first use)."""
    root = os.environ.get("MOTIONLEX_CACHE") or Path.home() / ".cache" / "motionlex"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def reader_version() -> str:
    """Hash of the code that turns files into canonical joints (motion_io, motion, skeleton).

    Part of every conversion key, so a fix in a reader re-converts cached data by itself even
    when nobody remembers to bump CODE_VERSION.
    """
    engine = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in [engine / "motion.py", engine / "skeleton.py", *sorted((engine / "motion_io").glob("*.py"))]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_key(*parts: object) -> str:
    """A short stable hex key from the source's identity parts, CODE_VERSION and the readers' code."""
    text = json.dumps([CODE_VERSION, reader_version(), *[str(p) for p in parts]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_identity(path: Path) -> str:
    """Cheap identity of a file for cache keys: its size and modification time."""
    stat = Path(path).stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"
