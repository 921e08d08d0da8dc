"""The steps every reader ends with, in one place: metres and Y up, 20 fps, the shared checks,
then the canonical pose (floor, origin, facing +Z)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..motion import Motion, canonicalize, resample, validate_joints
from ..skeleton import FPS
from .units import to_metres_y_up


def canonical_motion(joints: np.ndarray, source_fps: float, source: str, meta: dict) -> Motion:
    """Canonical-order joints (T, 22, 3) in the file's units and axes at `source_fps` -> the
    canonical Motion; `meta` gains the detected units, up axis and stature."""
    joints, conventions = to_metres_y_up(joints, source)
    joints = resample(joints, source_fps, FPS)
    joints = canonicalize(validate_joints(joints, source))
    return Motion(joints=joints, fps=FPS, name=Path(source).stem, meta={**meta, **conventions})
