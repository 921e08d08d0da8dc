"""Units and up axis of canonical-order joints that came from a file of unknown conventions.

Units come from a pose-independent body size (sum of spine, neck and leg bone lengths, about
1.35 m for an adult), so a crouching or lying clip is still scaled right. The up axis comes from
the average feet->head direction over the clip.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..skeleton import BODY_SIZE_M, JOINT_INDEX, body_size, stature_m

UNIT_SCALES = {"metres": 1.0, "centimetres": 0.01, "millimetres": 0.001, "inches": 0.0254}


def detect_units(joints: np.ndarray, source: str) -> tuple[str, float]:
    """(unit name, scale to metres) making the body closest to an adult's size."""
    size = body_size(joints)
    if not np.isfinite(size) or size <= 0:
        raise InputError(source, "the skeleton has zero size")
    unit = min(UNIT_SCALES, key=lambda u: abs(np.log(size * UNIT_SCALES[u] / BODY_SIZE_M)))
    metres = size * UNIT_SCALES[unit]
    if not 0.5 <= metres <= 3.0:
        raise InputError(source, f"cannot tell the units: body size {size:.4g} fits no unit for a person")
    return unit, UNIT_SCALES[unit]


def up_rotation(joints: np.ndarray) -> tuple[str, np.ndarray]:
    """('+Y' | '-Z' | ..., R) with R a proper rotation taking the clip's up direction to +Y."""
    feet = joints[:, [JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"]]].mean(axis=1)
    up = (joints[:, JOINT_INDEX["head"]] - feet).mean(axis=0)
    axis = int(np.argmax(np.abs(up)))
    sign = 1.0 if up[axis] > 0 else -1.0
    name = ("+" if sign > 0 else "-") + "XYZ"[axis]
    src = np.zeros(3)
    src[axis] = sign
    dst = np.array([0.0, 1.0, 0.0])
    if np.allclose(src, dst):
        return name, np.eye(3)
    if np.allclose(src, -dst):  # upside down: half turn about X keeps the handedness
        return name, np.diag([1.0, -1.0, -1.0])
    k = np.cross(src, dst)  # quarter turn about src x dst (Rodrigues with sin=1, cos=0)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return name, np.eye(3) + kx + kx @ kx


def to_metres_y_up(joints: np.ndarray, source: str) -> tuple[np.ndarray, dict]:
    """Scale to metres and rotate to Y up; returns the joints and {'units', 'up_axis', 'stature_m'} for meta."""
    unit, scale = detect_units(joints, source)
    up_name, rot = up_rotation(joints)
    joints = (joints * scale) @ rot.T
    return joints, {"units": unit, "up_axis": up_name, "stature_m": round(stature_m(joints), 3)}
