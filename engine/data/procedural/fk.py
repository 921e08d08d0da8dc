"""Forward kinematics on the canonical 22-joint skeleton: Euler-angle curves -> joint positions.

Frame: metres, Y up, the rest body faces +Z and its left is +X (as HumanML3D).
A joint's local rotation is R = Ry(y) @ Rx(x) @ Rz(z) in its parent's frame (z applied first).
Sign conventions, used by every primitive (see poses.py for named helpers):
  x (pitch): a bone pointing down swings backward (-Z) for x > 0, a bone pointing up leans forward.
             So hip/shoulder flexion (limb forward) is x < 0, knee flexion x > 0, trunk bending forward x > 0.
  z (roll):  a bone pointing down swings toward +X (body-left) for z > 0: left-limb abduction is z > 0,
             right-limb abduction z < 0.
  y (yaw):   forward (+Z) turns toward +X (body-left) for y > 0: looking/turning left is y > 0.
Mirroring a pose left<->right swaps the l_/r_ joints and negates y and z (poses.mirror_angles).
"""
from __future__ import annotations

import numpy as np

from engine.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS

# Offset of each joint from its parent in the rest pose (arms hanging, feet flat), for a ~1.7 m adult:
# pelvis 0.94 m above the floor, head joint 1.55 m, shoulders 1.36 m, bone lengths close to SMPL's.
_REST = {
    "l_hip": (0.09, -0.07, 0.0), "spine1": (0.0, 0.11, -0.01), "l_knee": (0.01, -0.39, 0.0),
    "spine2": (0.0, 0.13, 0.0), "l_ankle": (-0.01, -0.42, -0.02), "spine3": (0.0, 0.06, 0.01),
    "l_foot": (0.01, -0.06, 0.13), "neck": (0.0, 0.21, -0.02), "l_collar": (0.07, 0.12, -0.01),
    "head": (0.0, 0.10, 0.04), "l_shoulder": (0.12, 0.0, 0.0), "l_elbow": (0.0, -0.26, 0.0),
    "l_wrist": (0.0, -0.25, 0.0),
}


def _rest_offsets() -> np.ndarray:
    off = np.zeros((NUM_JOINTS, 3))
    for name, vec in _REST.items():
        off[JOINT_INDEX[name]] = vec
        if name.startswith("l_"):  # the right side is the exact mirror image (x -> -x)
            off[JOINT_INDEX["r_" + name[2:]]] = (-vec[0], vec[1], vec[2])
    return off


REST_OFFSETS = _rest_offsets()


def euler_to_matrix(angles: np.ndarray) -> np.ndarray:
    """(..., 3) angles (x, y, z) in radians -> (..., 3, 3) rotation matrices Ry @ Rx @ Rz."""
    cx, cy, cz = np.cos(angles).transpose(-1, *range(angles.ndim - 1))
    sx, sy, sz = np.sin(angles).transpose(-1, *range(angles.ndim - 1))
    # Ry @ Rx @ Rz written out (one pass instead of two batched matmuls: this is the hot loop).
    m = np.empty(angles.shape[:-1] + (3, 3))
    m[..., 0, 0] = cy * cz + sy * sx * sz
    m[..., 0, 1] = -cy * sz + sy * sx * cz
    m[..., 0, 2] = sy * cx
    m[..., 1, 0] = cx * sz
    m[..., 1, 1] = cx * cz
    m[..., 1, 2] = -sx
    m[..., 2, 0] = -sy * cz + cy * sx * sz
    m[..., 2, 1] = sy * sz + cy * sx * cz
    m[..., 2, 2] = cy * cx
    return m


def yaw_matrix(yaw: np.ndarray) -> np.ndarray:
    return euler_to_matrix(np.stack([np.zeros_like(yaw), yaw, np.zeros_like(yaw)], axis=-1))


def forward_kinematics(angles: np.ndarray, yaw: np.ndarray, offsets: np.ndarray = REST_OFFSETS) -> np.ndarray:
    """(T, 22, 3) local Euler angles + (T,) heading -> (T, 22, 3) positions with the pelvis at the origin.

    Bone lengths equal the offsets' norms in every frame by construction.
    """
    local = euler_to_matrix(angles)
    glob = np.empty_like(local)
    pos = np.zeros(angles.shape[:2] + (3,))
    glob[:, 0] = yaw_matrix(yaw) @ local[:, 0]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        pos[:, j] = pos[:, p] + glob[:, p] @ offsets[j]
        glob[:, j] = glob[:, p] @ local[:, j]
    return pos
