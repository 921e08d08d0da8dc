"""Save / load an index as plain .npy arrays plus a JSON manifest carrying a fingerprint.

The caller passes a fingerprint (e.g. library hash + checkpoint hash). `load_arrays` returns None
when there is nothing usable to load (no manifest, other kind, other format version, other
fingerprint) so the caller rebuilds; it raises InputError when files exist but are malformed.
Arrays are read with allow_pickle=False; the manifest is written last (atomically), so an
interrupted save leaves no manifest and reads as "rebuild".
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from engine.errors import InputError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def save_arrays(directory: str | Path, kind: str, arrays: dict[str, np.ndarray], meta: dict,
                fingerprint: str) -> Path:
    """Write each array to <name>.npy and the manifest {kind, format_version, fingerprint, meta, arrays}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).unlink(missing_ok=True)  # invalidate first: a crash below must read as "rebuild"
    for name, array in arrays.items():
        tmp = directory / f".{name}.tmp.npy"
        np.save(tmp, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(tmp, directory / f"{name}.npy")
    manifest = {"kind": kind, "format_version": FORMAT_VERSION, "fingerprint": fingerprint, "meta": meta,
                "arrays": {n: {"dtype": a.dtype.str, "shape": list(a.shape)} for n, a in arrays.items()}}
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, directory / MANIFEST)
    return directory


def load_arrays(directory: str | Path, kind: str, fingerprint: str | None,
                mmap: bool = False) -> tuple[dict[str, np.ndarray], dict] | None:
    """(arrays, meta) or None when the stored index is missing or stale (see module doc).

    fingerprint=None accepts any fingerprint. mmap=True maps the arrays read-only instead of reading them.
    """
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(path, f"unreadable index manifest ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("kind") != kind \
            or manifest.get("format_version") != FORMAT_VERSION:
        return None
    if fingerprint is not None and manifest.get("fingerprint") != fingerprint:
        return None
    arrays = {}
    for name, spec in manifest.get("arrays", {}).items():
        file = Path(directory) / f"{name}.npy"
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            raise InputError(path, f"bad array name {name!r}")
        try:
            array = np.load(file, allow_pickle=False, mmap_mode="r" if mmap else None)
        except (OSError, ValueError) as e:
            raise InputError(file, f"cannot read index array ({e})") from e
        if array.dtype.str != spec.get("dtype") or list(array.shape) != spec.get("shape"):
            raise InputError(file, f"expected {spec.get('dtype')} {spec.get('shape')}, "
                                   f"found {array.dtype.str} {list(array.shape)}")
        arrays[name] = array
    return arrays, manifest.get("meta", {})
