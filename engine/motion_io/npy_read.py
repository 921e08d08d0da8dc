"""read_npy: HumanML3D joints (T,22,3), KIT-ML joints (T,21,3) or HumanML3D/KIT feature vectors
(T,263)/(T,251) -> the canonical Motion. Files are untrusted: no pickles, no object arrays.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..motion import MAX_FILE_BYTES, MAX_FRAMES, Motion, canonicalize, resample, validate_joints
from ..skeleton import FPS, JOINT_NAMES
from .units import to_metres_y_up

# KIT-ML's 21 joints in its own order.
KIT_NAMES = ("root", "BP", "BT", "BLN", "BUN", "LS", "LE", "LW", "RS", "RE", "RW",
             "LH", "LK", "LA", "LMrot", "LF", "RH", "RK", "RA", "RMrot", "RF")
# Each canonical joint as {KIT joint: weight}. KIT has no spine3 or collars: spine2 sits between
# BP and BT, the collars 40% of the way from the lower neck to the shoulder (as in bvh_mapping).
KIT_TO_CANONICAL = {
    "pelvis": {"root": 1}, "l_hip": {"LH": 1}, "r_hip": {"RH": 1}, "spine1": {"BP": 1},
    "l_knee": {"LK": 1}, "r_knee": {"RK": 1}, "spine2": {"BP": 0.5, "BT": 0.5},
    "l_ankle": {"LA": 1}, "r_ankle": {"RA": 1}, "spine3": {"BT": 1}, "l_foot": {"LF": 1},
    "r_foot": {"RF": 1}, "neck": {"BLN": 1}, "l_collar": {"BLN": 0.6, "LS": 0.4},
    "r_collar": {"BLN": 0.6, "RS": 0.4}, "head": {"BUN": 1}, "l_shoulder": {"LS": 1},
    "r_shoulder": {"RS": 1}, "l_elbow": {"LE": 1}, "r_elbow": {"RE": 1}, "l_wrist": {"LW": 1},
    "r_wrist": {"RW": 1},
}
FEATURE_JOINTS = {263: 22, 251: 21}
KIT_FPS = 12.5  # HumanML3D and KIT-ML feature widths: 4 + (J-1)*9 + J*3 + 4


def kit_weights() -> np.ndarray:
    weights = np.zeros((len(JOINT_NAMES), len(KIT_NAMES)))
    for c, name in enumerate(JOINT_NAMES):
        for kit, w in KIT_TO_CANONICAL[name].items():
            weights[c, KIT_NAMES.index(kit)] = w
    return weights


def _rotate_y(vectors: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (..., 3) vectors about +Y by per-frame angles broadcast over the leading axes."""
    c, s = np.cos(angle), np.sin(angle)
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.stack([c * x + s * z, y, -s * x + c * z], axis=-1)


def recover_from_ric(features: np.ndarray, joints_num: int) -> np.ndarray:
    """(T, F) rotation-invariant features -> (T, joints_num, 3), as HumanML3D's recover_from_ric.

    Layout: [0] root yaw velocity, [1:3] root xz velocity in the root frame, [3] root height,
    [4 : 4+(J-1)*3] joint positions relative to the root in the root's heading frame, then
    rotations, velocities and foot contacts (not needed for positions).
    """
    data = features.astype(np.float64)
    # Root yaw: integrate the velocity of the previous frames. HumanML3D's quaternion
    # (cos a, 0, sin a, 0) is a turn of 2a about Y; its inverse (-2a) rotates root-frame
    # vectors into the world.
    yaw = np.concatenate([[0.0], np.cumsum(data[:-1, 0])])
    to_world = -2.0 * yaw
    step = np.zeros((len(data), 3))
    step[1:, [0, 2]] = data[:-1, 1:3]
    root = np.cumsum(_rotate_y(step, to_world), axis=0)
    root[:, 1] = data[:, 3]
    local = data[:, 4:4 + (joints_num - 1) * 3].reshape(len(data), joints_num - 1, 3)
    joints = _rotate_y(local, to_world[:, None])
    joints[..., 0] += root[:, None, 0]
    joints[..., 2] += root[:, None, 2]
    return np.concatenate([root[:, None], joints], axis=1)


def load_array(path: str) -> np.ndarray:
    """np.load with the size check first and every failure turned into InputError."""
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise InputError(path, f"cannot read the file ({err.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise InputError(path, f"file is {size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB limit")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as err:  # numpy refuses pickled payloads and object arrays this way
        if "pickle" in str(err):
            raise InputError(path, "it holds pickled Python objects, which are refused") from None
        raise InputError(path, f"not a readable .npy file ({err})") from None
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise InputError(path, f"not a readable .npy file ({err})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(path, "expected a single .npy array, got an .npz archive")
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(path, f"expected a numeric array, got dtype {array.dtype}")
    return array


def read_npy(path: str | os.PathLike) -> Motion:
    source = str(path)
    array = load_array(source)
    if array.ndim == 0 or array.shape[0] == 0:
        raise InputError(source, "the motion has zero frames")
    if array.shape[0] > MAX_FRAMES:
        raise InputError(source, f"{array.shape[0]} frames is more than the limit of {MAX_FRAMES}")
    if not np.isfinite(array).all():
        raise InputError(source, "the array contains NaN or infinite values")
    shape, meta = array.shape, {"source": source, "format": "npy"}
    if array.ndim == 3 and shape[1:] == (22, 3):
        joints, meta["layout"] = array.astype(np.float64), "humanml3d_joints"
    elif array.ndim == 3 and shape[1:] == (21, 3):
        joints, meta["layout"] = np.einsum("ck,fkd->fcd", kit_weights(), array.astype(np.float64)), "kit_joints"
    elif array.ndim == 2 and shape[1] in FEATURE_JOINTS:
        joints = recover_from_ric(array, FEATURE_JOINTS[shape[1]])
        meta["layout"] = "humanml3d_features" if shape[1] == 263 else "kit_features"
        if shape[1] == 251:
            joints = np.einsum("ck,fkd->fcd", kit_weights(), joints)
    else:
        raise InputError(source, f"unrecognised array shape {shape}: expected (T,22,3) HumanML3D joints, "
                         "(T,21,3) KIT-ML joints or (T,263)/(T,251) feature vectors")
    kit = meta["layout"].startswith("kit")
    meta["mapped_joints"] = {c: (next(iter(m)) if len(m) == 1 else "interpolated") if kit else c
                             for c, m in KIT_TO_CANONICAL.items()}
    joints, conventions = to_metres_y_up(joints, source)  # KIT joints are in millimetres
    if kit:  # KIT-ML as HumanML3D's scripts process it runs at 12.5 fps
        joints = resample(joints, KIT_FPS, FPS)
    joints = canonicalize(validate_joints(joints, source))
    return Motion(joints=joints, fps=FPS, name=Path(source).stem, meta={**meta, **conventions})
