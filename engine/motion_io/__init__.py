"""Readers and writers: every motion file ends as the canonical Motion (engine/motion.py).

load_motion(path, mapping=None) dispatches on the extension: `mapping` is a BVH's optional joint
mapping JSON, or a CMU .amc's .asf skeleton (found beside it when not given). save_motion(motion,
path) writes .npy (canonical (T, 22, 3) float32) or .bvh (a 22-joint rig whose rotations reproduce
the joints).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..motion import Motion

READERS = (".bvh", ".npy", ".amc")
WRITERS = (".bvh", ".npy")


def load_motion(path: str | os.PathLike, mapping: str | os.PathLike | None = None) -> Motion:
    suffix = Path(path).suffix.lower()
    if suffix == ".bvh":
        from .bvh_read import read_bvh
        return read_bvh(path, mapping)
    if suffix == ".npy":
        if mapping is not None:
            raise InputError(mapping, "a joint mapping applies to BVH rigs only, not to .npy joints")
        from .npy_read import read_npy
        return read_npy(path)
    if suffix == ".amc":
        from .asf_read import read_amc
        return read_amc(path, mapping)
    if suffix == ".asf":
        raise InputError(path, "an ASF file is the skeleton; give the .amc motion (its .asf is found beside it "
                         "or passed as the mapping argument)")
    raise InputError(path, f"unknown motion file type {suffix or '(none)'!r}: expected one of {', '.join(READERS)}")


def save_motion(motion: Motion, path: str | os.PathLike) -> None:
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        tmp = f"{path}.tmp.npy"  # atomic: a reader never sees half a file
        np.save(tmp, motion.joints.astype(np.float32))
        os.replace(tmp, path)
    elif suffix == ".bvh":
        from .bvh_write import write_bvh
        write_bvh(motion, path)
    else:
        raise InputError(path, f"cannot write {suffix or '(none)'!r} files: expected one of {', '.join(WRITERS)}")
