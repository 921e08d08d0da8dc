"""The procedural library on disk: generated once per (n, seed, generator code), then read in a fraction of a second.

Generating the default 2,000 clips takes seconds of CPU at every start (the app's default library); reading
them back is one .npz of all joints (allow_pickle=False) plus one JSON of ids, captions and labels. The key
hashes the procedural package's source, so a change to a primitive or a caption template regenerates the
library instead of serving stale clips. Writes are atomic; a damaged or foreign cache file is ignored and
rewritten, never trusted.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_write, atomic_write_json
from ..motion import Motion
from .cache import cache_dir, cache_key

FORMAT = "procedural-cache-1"


def procedural_code_version() -> str:
    """Hash of the procedural generator's source files (engine/data/procedural/*.py)."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).parent / "procedural").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def cached_library(n: int, seed: int) -> list:
    """The clips of generate_library(n, seed), from the cache when it holds them, else generated and stored."""
    from .procedural import ProceduralClip, generate_library

    base = cache_dir() / "procedural" / cache_key("procedural", n, seed, procedural_code_version())
    stored = _read(base, n)
    if stored is not None:
        index, joints = stored
        return [ProceduralClip(item["id"], Motion(joints[a:b], item["fps"], item["id"], item["meta"]),
                               item["captions"], item["label"])
                for item, a, b in zip(index["clips"], index["offsets"][:-1], index["offsets"][1:])]
    library = generate_library(n, seed=seed)
    _write(base, library)
    return library


def _read(base: Path, n: int):
    try:
        index = json.loads(base.with_suffix(".json").read_text())
        with np.load(base.with_suffix(".npz"), allow_pickle=False) as stored:
            joints = stored["joints"]
        if index.get("format") != FORMAT or len(index["clips"]) != n or index["offsets"][-1] != len(joints) \
                or joints.dtype != np.float32 or joints.shape[1:] != (22, 3):
            return None
        return index, joints
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None


def _write(base: Path, library: list) -> None:
    joints = np.concatenate([clip.motion.joints for clip in library]).astype(np.float32)
    offsets = np.cumsum([0] + [clip.motion.frames for clip in library]).tolist()
    clips = [{"id": c.id, "captions": list(c.captions), "label": c.label, "fps": c.motion.fps,
              "meta": c.motion.meta} for c in library]
    try:
        atomic_write(base.with_suffix(".npz"), lambda handle: np.savez(handle, joints=joints))
        atomic_write_json(base.with_suffix(".json"), {"format": FORMAT, "offsets": offsets, "clips": clips})
    except OSError:       # a full or read-only cache: the library is still served from memory
        pass
