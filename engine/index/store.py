"""Save / load an index as plain .npy arrays plus a JSON manifest carrying a fingerprint.

The caller passes a fingerprint (e.g. library hash + checkpoint hash). `load_arrays` returns None
when there is nothing usable to load (no manifest, other kind, other format version, other
fingerprint) so the caller rebuilds; it raises InputError when files exist but are malformed.
Arrays are read with allow_pickle=False. A save writes a complete new folder beside the old one and
swaps it into place, so a reader sees the old index, the new one or none (read as "rebuild"), never a mix,
and two processes saving the same index at once both succeed (the second finds the first's in place). A
reader opens the folder once and every file relative to that open folder (where the system allows), so all
it reads comes from one save even when writers swap folders meanwhile.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from engine.errors import InputError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def save_arrays(directory: str | Path, kind: str, arrays: dict[str, np.ndarray], meta: dict,
                fingerprint: str) -> Path:
    """Write each array to <name>.npy and the manifest {kind, format_version, fingerprint, meta, arrays}."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    fresh = directory.parent / f".{directory.name}.{uuid.uuid4().hex}.tmp"
    fresh.mkdir()
    try:
        for name, array in arrays.items():
            np.save(fresh / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        manifest = {"kind": kind, "format_version": FORMAT_VERSION, "fingerprint": fingerprint, "meta": meta,
                    "arrays": {n: {"dtype": a.dtype.str, "shape": list(a.shape)} for n, a in arrays.items()}}
        (fresh / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _swap_into_place(fresh, directory)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return directory


def _swap_into_place(fresh: Path, directory: Path) -> None:
    """Replace `directory` by the complete folder `fresh` with two renames; if another writer put its own
    folder in place meanwhile, that one stays (it was written from the same fingerprint)."""
    if directory.exists():
        old = directory.parent / f".{directory.name}.{uuid.uuid4().hex}.old"
        try:
            os.rename(directory, old)
        except FileNotFoundError:      # another writer moved it first
            old = None
    else:
        old = None
    try:
        os.rename(fresh, directory)
    except OSError:                    # another writer's complete folder is already in place
        pass
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_arrays(directory: str | Path, kind: str, fingerprint: str | None,
                mmap: bool = False) -> tuple[dict[str, np.ndarray], dict] | None:
    """(arrays, meta) or None when the stored index is missing or stale (see module doc).

    fingerprint=None accepts any fingerprint. mmap=True maps the arrays read-only instead of reading them.
    The manifest and the arrays are read through one open handle of the folder (module doc); a file that a
    writer's swap removed meanwhile means "read the new folder", and where folders cannot be held open the
    folder's inode is compared before and after instead.
    """
    for _ in range(5):
        try:
            held = _hold(directory)
            before = os.stat(directory).st_ino
        except FileNotFoundError:
            return None
        try:
            loaded = _load_once(directory, kind, fingerprint, mmap, held)
        except FileNotFoundError:        # the folder was swapped out under us: read the new one
            continue
        finally:
            if held is not None:
                os.close(held)
        try:
            if held is not None or os.stat(directory).st_ino == before:
                return loaded
        except FileNotFoundError:
            pass
    return None


def _hold(directory) -> int | None:
    """An open handle of the folder for reading its files relative to it, or None where that is unsupported."""
    if os.open not in os.supports_dir_fd or not hasattr(os, "O_DIRECTORY"):
        return None
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY)


def _open(directory, name: str, held: int | None):
    if held is None:
        return open(Path(directory) / name, "rb")
    return os.fdopen(os.open(name, os.O_RDONLY, dir_fd=held), "rb")


def _read_npy(handle, mmap: bool) -> np.ndarray:
    if not mmap:
        return np.load(handle, allow_pickle=False)
    version = np.lib.format.read_magic(handle)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in read_header:
        raise ValueError(f"unsupported .npy version {version}")
    shape, fortran, dtype = read_header[version](handle)
    if dtype.hasobject:
        raise ValueError("object arrays are not read")
    return np.memmap(handle, dtype=dtype, mode="r", shape=shape, order="F" if fortran else "C", offset=handle.tell())


def _load_once(directory: str | Path, kind: str, fingerprint: str | None, mmap: bool, held: int | None):
    path = Path(directory) / MANIFEST
    try:
        with _open(directory, MANIFEST, held) as handle:
            manifest = json.loads(handle.read().decode())
    except FileNotFoundError:
        return None
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
            with _open(directory, f"{name}.npy", held) as handle:
                array = _read_npy(handle, mmap)
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as e:
            raise InputError(file, f"cannot read index array ({e})") from e
        if array.dtype.str != spec.get("dtype") or list(array.shape) != spec.get("shape"):
            raise InputError(file, f"expected {spec.get('dtype')} {spec.get('shape')}, "
                                   f"found {array.dtype.str} {list(array.shape)}")
        arrays[name] = array
    return arrays, manifest.get("meta", {})
