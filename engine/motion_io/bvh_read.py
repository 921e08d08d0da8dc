"""read_bvh: any BVH rig -> the canonical Motion (22 joints, metres, Y up, 20 fps, canonicalized)."""
from __future__ import annotations

import os

from ..motion import Motion
from .bvh_mapping import apply_mapping, build_mapping
from .bvh_parse import forward_kinematics, parse_bvh
from .canonical import canonical_motion


def read_bvh(path: str | os.PathLike, mapping: str | os.PathLike | None = None) -> Motion:
    source = str(path)
    clip = parse_bvh(source)
    first = forward_kinematics(clip, frames=slice(0, 1))[0]  # the first frame places interpolated joints
    weights, report = build_mapping(clip.names, clip.parents, first, source, mapping)
    joints = forward_kinematics(clip, reduce=lambda positions: apply_mapping(weights, positions))
    meta = {"source": source, "format": "bvh", "source_fps": round(clip.fps, 4),
            "source_frames": int(clip.values.shape[0]), "mapped_joints": report}
    return canonical_motion(joints, clip.fps, source, meta)
