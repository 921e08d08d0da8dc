"""read_bvh: any BVH rig -> the canonical Motion (22 joints, metres, Y up, 20 fps, canonicalized)."""
from __future__ import annotations

import os
from pathlib import Path

from ..motion import Motion, canonicalize, resample, validate_joints
from ..skeleton import FPS
from .bvh_mapping import apply_mapping, build_mapping
from .bvh_parse import forward_kinematics, parse_bvh
from .units import to_metres_y_up


def read_bvh(path: str | os.PathLike, mapping: str | os.PathLike | None = None) -> Motion:
    source = str(path)
    clip = parse_bvh(source)
    positions = forward_kinematics(clip)
    weights, report = build_mapping(clip.names, clip.parents, positions[0], source, mapping)
    joints = apply_mapping(weights, positions)
    joints, conventions = to_metres_y_up(joints, source)
    joints = resample(joints, clip.fps, FPS)
    joints = canonicalize(validate_joints(joints, source))
    meta = {"source": source, "format": "bvh", "source_fps": round(clip.fps, 4),
            "source_frames": int(clip.values.shape[0]), "mapped_joints": report, **conventions}
    return Motion(joints=joints, fps=FPS, name=Path(source).stem, meta=meta)
