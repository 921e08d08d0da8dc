"""read_npy: HumanML3D joints (T,22,3), KIT-ML joints (T,21,3) or HumanML3D/KIT feature vectors
(T,263)/(T,251) -> the canonical Motion. Files are untrusted: no pickles, no object arrays.
"""
from __future__ import annotations

import math
import os
import tokenize

import numpy as np

from ..errors import InputError
from ..motion import MAX_FRAMES, Motion
from ..skeleton import FPS, JOINT_NAMES
from .canonical import canonical_motion
from .textfile import check_magnitude, check_size

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


SHAPES_EXPECTED = "expected (T,22,3) HumanML3D joints, (T,21,3) KIT-ML joints or (T,263)/(T,251) feature vectors"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"
PICKLE_MAGIC = b"\x80"  # the protocol opcode that starts every binary pickle


def _read_header(f, path: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from the .npy header alone, without touching the data."""
    start = f.read(len(NPY_MAGIC))
    if start.startswith(ZIP_MAGIC):
        raise InputError(path, "it is a zip archive (an .npz renamed .npy?), not a single .npy array")
    if start.startswith(PICKLE_MAGIC):
        raise InputError(path, "it holds pickled Python objects, which are refused")
    if start != NPY_MAGIC:
        raise InputError(path, "not a readable .npy file (it does not start with the .npy magic bytes)")
    f.seek(0)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(f)
    except (ValueError, SyntaxError, TypeError, EOFError, tokenize.TokenError, RecursionError) as err:
        # numpy tokenizes and literal_evals the header dict: a mangled one fails in any of these ways
        raise InputError(path, f"not a readable .npy file (bad header: {_first_line(err)})") from None
    raise InputError(path, f"not a readable .npy file (unsupported format version {version[0]}.{version[1]})")


def _first_line(err: Exception) -> str:
    """numpy's own message, cut to one line (some of its messages run over several)."""
    lines = str(err).strip().splitlines() or [type(err).__name__]
    return lines[0][:200]


def _check_header(shape, dtype: np.dtype, data_bytes: int, path: str) -> int:
    """Refuses, before loading, what the header alone shows to be unusable; returns the data size."""
    if dtype.hasobject:
        raise InputError(path, "it holds pickled Python objects, which are refused")
    if dtype.kind not in "iuf":
        raise InputError(path, f"expected a numeric array, got dtype {dtype}")
    if len(shape) not in (2, 3) or min(shape) < 0:
        raise InputError(path, f"unrecognised array shape {tuple(shape)}: {SHAPES_EXPECTED}")
    if shape[0] == 0:
        raise InputError(path, "the motion has zero frames")
    if shape[0] > MAX_FRAMES:
        raise InputError(path, f"{shape[0]} frames is more than the limit of {MAX_FRAMES}")
    declared = math.prod(shape) * dtype.itemsize  # Python ints: no overflow for any declared shape
    if declared > data_bytes:
        raise InputError(path, f"truncated .npy file: the header declares a {tuple(shape)} {dtype} array "
                         f"({declared} bytes of data) but the file holds {data_bytes}")
    if declared < data_bytes:
        raise InputError(path, f"malformed .npy file: {data_bytes - declared} bytes after the declared "
                         f"{tuple(shape)} {dtype} array")
    return declared


def load_array(path: str) -> np.ndarray:
    """A numeric .npy array, its header checked (magic, dtype, shape, frames, byte size) before
    any data is read, so a tiny file declaring a huge array allocates nothing."""
    size = check_size(path)
    try:
        with open(path, "rb") as f:
            shape, fortran_order, dtype = _read_header(f, path)
            data_bytes = _check_header(shape, dtype, size - f.tell(), path)
            data = f.read(data_bytes)
    except OSError as err:
        raise InputError(path, f"cannot read the file ({err.strerror})") from None
    if len(data) != data_bytes:
        raise InputError(path, "truncated .npy file: it changed while being read")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def read_npy(path: str | os.PathLike) -> Motion:
    source = str(path)
    array = load_array(source)
    if not np.isfinite(array).all():
        raise InputError(source, "the array contains NaN or infinite values")
    check_magnitude(array, source, "the array")
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
        raise InputError(source, f"unrecognised array shape {shape}: {SHAPES_EXPECTED}")
    kit = meta["layout"].startswith("kit")
    meta["mapped_joints"] = {c: (next(iter(m)) if len(m) == 1 else "interpolated") if kit else c
                             for c, m in KIT_TO_CANONICAL.items()}
    # KIT joints are in millimetres (found by the unit detection); KIT-ML as HumanML3D's scripts
    # process it runs at 12.5 fps
    return canonical_motion(joints, KIT_FPS if kit else FPS, source, meta)
