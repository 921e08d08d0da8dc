"""The canonical Motion: float32 (T, 22, 3) joint positions in metres, Y up, 20 fps.

Invariants (enforced by `canonicalize`): floor at y = 0, first-frame root at the origin in the
ground plane, body facing +Z in the first frame (so the body's left is +X).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .skeleton import BONES, FPS, JOINT_INDEX, NUM_JOINTS, stature_m

MAX_FRAMES = 20_000
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_RIG_JOINTS = 512   # joints of a BVH rig or bones of an ASF skeleton: a person needs a few hundred at most
MAX_RIG_DEPTH = 128    # nesting of a rig's hierarchy, far beyond any body


@dataclass
class Motion:
    joints: np.ndarray                       # (T, 22, 3) float32, metres
    fps: float = FPS
    name: str = ""
    meta: dict = field(default_factory=dict)  # e.g. source file, mapped joints, label

    @property
    def frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    @property
    def height_m(self) -> float:
        """Standing height (head top) estimated from bone lengths, so a crouch or a raised hand
        does not change it."""
        return float(stature_m(self.joints)) if self.frames else 0.0

    def bone_lengths(self) -> np.ndarray:
        """(T, n_bones) bone lengths; their variation over time checks a reader or a generator."""
        p, c = np.array(BONES).T
        return np.linalg.norm(self.joints[:, c] - self.joints[:, p], axis=-1)


def validate_joints(joints: np.ndarray, source: str) -> np.ndarray:
    """Shape, size and finiteness checks shared by every reader; returns float32 (T, 22, 3)."""
    joints = np.asarray(joints)
    if joints.dtype == object or not np.issubdtype(joints.dtype, np.number):
        raise InputError(source, f"expected numeric joint positions, got dtype {joints.dtype}")
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise InputError(source, f"expected joint positions of shape (T, {NUM_JOINTS}, 3), got {joints.shape}")
    if joints.shape[0] == 0:
        raise InputError(source, "the motion has zero frames")
    if joints.shape[0] > MAX_FRAMES:
        raise InputError(source, f"{joints.shape[0]} frames is more than the limit of {MAX_FRAMES}")
    if not np.isfinite(joints).all():
        raise InputError(source, "joint positions contain NaN or infinite values")
    return joints.astype(np.float32, copy=False)


def facing_angle(joints_frame: np.ndarray) -> float:
    """Yaw (radians, about +Y) of the body's forward direction from hips and shoulders."""
    across = (joints_frame[JOINT_INDEX["l_hip"]] - joints_frame[JOINT_INDEX["r_hip"]]) + (
        joints_frame[JOINT_INDEX["l_shoulder"]] - joints_frame[JOINT_INDEX["r_shoulder"]])
    # forward = across(left) x up; with left = +X and up = +Y this gives +Z.
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))
    return float(np.arctan2(forward[0], forward[2]))


def rotate_y(joints: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=np.float64)
    return (joints.astype(np.float64) @ rot.T).astype(np.float32)


def canonicalize(joints: np.ndarray) -> np.ndarray:
    """Floor at y=0, first-frame root at the ground-plane origin, first frame facing +Z."""
    joints = joints.astype(np.float32, copy=True)
    joints[..., 1] -= joints[..., 1].min()
    root0 = joints[0, 0].copy()
    joints[..., 0] -= root0[0]
    joints[..., 2] -= root0[2]
    return rotate_y(joints, -facing_angle(joints[0]))


def resample(joints: np.ndarray, src_fps: float, dst_fps: float = FPS) -> np.ndarray:
    """Linear interpolation in time; positions (not rotations) so linear is exact enough at 20 fps."""
    if abs(src_fps - dst_fps) < 1e-6 or joints.shape[0] < 2:
        return joints
    t_src = np.arange(joints.shape[0]) / src_fps
    n_dst = max(1, int(np.floor(t_src[-1] * dst_fps)) + 1)
    t_dst = np.arange(n_dst) / dst_fps
    flat = joints.reshape(joints.shape[0], -1)
    out = np.empty((n_dst, flat.shape[1]), dtype=np.float32)
    for k in range(flat.shape[1]):
        out[:, k] = np.interp(t_dst, t_src, flat[:, k])
    return out.reshape(n_dst, *joints.shape[1:])
