"""HumanML3D's 263-dim motion representation, computed from canonical joints by our own code.

`joints_to_features` follows the layout and conventions of HumanML3D's `process_file`
(motion_representation / motion_process.py) so that its features, and statistics or models made
on HumanML3D's `new_joint_vecs`, can be used with our motions; `features_to_joints` is the
position inverse (`recover_from_ric` of npy_read). Row t of the features describes frame t (and
the step t -> t+1), so a motion of T frames gives T-1 rows and the last frame is dropped:
`features_to_joints(joints_to_features(j))` equals `place(j)[:T-1]`, where `place` is HumanML3D's
placement (floor at y=0, first root at the ground-plane origin, first frame facing +Z). For
canonical joints the placement changes nothing beyond float rounding, so the round trip gives
back `joints[:-1]`.

Layout of a row (J = 22 joints, "root frame" = the root's heading frame, Y up):
  [0]        root yaw velocity: half the heading change to the next frame, with the sign of
             HumanML3D's quaternion (cos a, 0, sin a, 0), a turn of 2a about Y
  [1:3]      root xz velocity to the next frame, in the next frame's root frame
  [3]        root height
  [4:67]     ric: joints 1..21 relative to the root's ground projection, in the root frame
  [67:193]   6D rotations of joints 1..21 (first two columns of each local rotation matrix)
  [193:259]  velocities of the 22 joints to the next frame, in the current root frame
  [259:263]  foot contacts of l_ankle, l_foot, r_ankle, r_foot (see `foot_contacts`)

What is deliberately the same as HumanML3D (so the numbers match theirs):
  * the heading is their inverse kinematics' one (see `heading`: from shoulders and hips, with
    their sign quirk), Gaussian-smoothed over time (sigma 20 frames, edges extended), and the
    first frame's heading is forced to zero; the first yaw velocity therefore carries the jump
    from zero to the smoothed second-frame heading, and `recover_from_ric` undoes it exactly;
  * rotations come from their inverse kinematics: along each of their kinematic chains, the
    shortest-arc rotation taking their unit rest direction of the bone (`REST_DIRECTIONS`) onto
    the observed bone direction, made local to the parent's accumulated rotation; every chain,
    the arm chains that start at spine3 included, starts from the root heading (their quirk, reported
    as HumanML3D issue #119), and the root's own rotation is not stored.
What differs: no retargeting to their reference skeleton (their `uniform_skeleton`), since our
bone lengths are the subject's; the yaw velocity is the wrapped heading change, where their
arcsin of the quaternion's sine flips sign on the rare frames whose heading crosses +-180 degrees;
degenerate directions (a zero-length bone, a bone opposite its rest direction) give a defined
rotation instead of NaN.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..motion import facing_angle
from ..skeleton import FOOT_JOINTS, JOINT_INDEX, KINEMATIC_CHAINS, NUM_JOINTS
from .npy_read import recover_from_ric

FEATURE_DIM = 263
FEATURE_BLOCKS: dict[str, slice] = {
    "root": slice(0, 4), "ric": slice(4, 67), "rotations": slice(67, 193),
    "velocities": slice(193, 259), "contacts": slice(259, 263),
}
# HumanML3D's unit rest direction of the bone ending at each joint (their t2m_raw_offsets): hips
# sideways, legs and arms down, spine and neck up, feet and head forward (+Z), collars sideways.
REST_DIRECTIONS = np.array(
    [[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
     [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
     [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]], dtype=np.float64)
HEADING_SIGMA = 20.0      # frames, HumanML3D's smoothing of the facing direction
CONTACT_THRESHOLD = 0.002  # m^2 per frame, HumanML3D's threshold on the squared displacement
STD_FLOOR = 1e-2          # see Normalizer.fit
_UP = np.array([0.0, 1.0, 0.0])


def _yaw(angle: np.ndarray) -> np.ndarray:
    """(...,) angles -> (..., 3, 3) rotations about +Y (x' = c x + s z), the convention of
    npy_read and engine.motion.rotate_y."""
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1),
                     np.stack([-s, zero, c], -1)], -2)


def _apply(rot: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations applied to (T, N, 3) vectors, frame by frame."""
    return np.einsum("tij,tnj->tni", rot, vectors)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(norm > 1e-9, v / np.maximum(norm, 1e-12), 0.0)


def _smooth(x: np.ndarray, sigma: float = HEADING_SIGMA, truncate: float = 4.0) -> np.ndarray:
    """Gaussian filter along time with edge values extended, as scipy's gaussian_filter1d
    (mode "nearest", radius int(truncate * sigma + 0.5)) that HumanML3D uses."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    padded = np.pad(x, ((radius, radius), (0, 0)), mode="edge")
    return sliding_window_view(padded, 2 * radius + 1, axis=0) @ (kernel / kernel.sum())


def place(joints: np.ndarray) -> np.ndarray:
    """HumanML3D's placement, in float64: floor (lowest point of the whole motion) at y=0, first
    root at the ground-plane origin, first frame facing +Z. A no-op for canonical joints."""
    j = np.array(joints, dtype=np.float64)
    j[..., 1] -= j[..., 1].min()
    j[..., [0, 2]] -= j[0, 0, [0, 2]]
    return _apply(np.broadcast_to(_yaw(np.array(-facing_angle(j[0]))), (len(j), 3, 3)), j)


def heading(joints: np.ndarray) -> np.ndarray:
    """(T,) yaw of the root frame per frame (atan2(x, z) of its forward axis, +Z = 0), exactly as
    HumanML3D's inverse kinematics computes it, first frame forced to 0.

    Their across vector is (l_hip - r_hip) + (r_shoulder - l_shoulder): the hip term has the
    opposite sign of the one in their placement step (a variable-name swap in their code), so the
    across direction is that of the shoulders minus the hips. It still points to the body's right
    because shoulders are wider than hips, and it must be kept to reproduce their numbers.
    """
    across = (joints[:, JOINT_INDEX["r_shoulder"]] - joints[:, JOINT_INDEX["l_shoulder"]]
              - (joints[:, JOINT_INDEX["r_hip"]] - joints[:, JOINT_INDEX["l_hip"]]))
    forward = _smooth(np.cross(_UP, _unit(across)))   # up x right = forward
    theta = np.arctan2(forward[:, 0], forward[:, 2])
    theta[0] = 0.0
    return theta


def _arc(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(T, 3, 3) shortest-arc rotations taking unit u (3,) onto unit rows of v (T, 3); the
    identity where v is zero, a half turn about an axis normal to u where v = -u."""
    k = np.cross(u, v)
    c = v @ u
    skew = np.zeros(v.shape[:-1] + (3, 3))
    skew[..., 0, 1], skew[..., 0, 2], skew[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    skew = skew - np.swapaxes(skew, -1, -2)
    opposite = c < -1 + 1e-9
    rot = np.eye(3) + skew + skew @ skew / np.where(opposite, 1.0, 1.0 + c)[..., None, None]
    if opposite.any():
        w = _unit(np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0]))
        rot[opposite] = 2.0 * np.outer(w, w) - np.eye(3)
    rot[np.linalg.norm(v, axis=-1) < 0.5] = np.eye(3)  # zero-length bone: no defined direction
    return rot


def local_rotations(joints: np.ndarray, root: np.ndarray) -> np.ndarray:
    """(T, 22, 3, 3) local rotations by HumanML3D's inverse kinematics (module docstring);
    `root` (T, 3, 3) is the world -> heading-frame rotation. Joint 0 is left as the identity."""
    out = np.broadcast_to(np.eye(3), (len(joints), NUM_JOINTS, 3, 3)).copy()
    for chain in KINEMATIC_CHAINS:
        acc = root
        for parent, child in zip(chain[:-1], chain[1:]):
            observed = _arc(REST_DIRECTIONS[child], _unit(joints[:, child] - joints[:, parent]))
            out[:, child] = np.swapaxes(acc, -1, -2) @ observed
            acc = acc @ out[:, child]
    return out


def foot_contacts(joints: np.ndarray, threshold: float = CONTACT_THRESHOLD) -> np.ndarray:
    """(T-1, 4) contacts of l_ankle, l_foot, r_ankle, r_foot: 1 where the joint's squared 3D
    displacement to the next frame is below `threshold` (0.002 m^2, i.e. under about 4.5 cm per
    frame at 20 fps). This is HumanML3D's rule as their script runs it: its foot-height test
    (3.0 / 2.0 m, far above any foot) is commented out there, so height plays no part here."""
    step = joints[1:, list(FOOT_JOINTS)] - joints[:-1, list(FOOT_JOINTS)]
    return ((step ** 2).sum(-1) < threshold).astype(np.float64)


def joints_to_features(joints: np.ndarray) -> np.ndarray:
    """(T, 22, 3) canonical joints (metres, Y up, T >= 2) -> (T-1, 263) float32 features in
    HumanML3D's layout; row t describes frame t (module docstring)."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or len(joints) < 2:
        raise ValueError(f"expected joints of shape (T>=2, {NUM_JOINTS}, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("joint positions contain NaN or infinite values")
    pos = place(joints)
    theta = heading(pos)
    to_root = _yaw(-theta)                                   # world -> root frame, per frame
    turn = np.angle(np.exp(1j * (theta[1:] - theta[:-1])))   # wrapped to (-pi, pi]
    root_step = _apply(to_root[1:], (pos[1:, :1] - pos[:-1, :1]))[:, 0]
    relative = pos[:, 1:] - pos[:, :1] * np.array([1.0, 0.0, 1.0])
    ric = _apply(to_root, relative)
    rot = local_rotations(pos, to_root)[:, 1:]
    six = np.concatenate([rot[..., :, 0], rot[..., :, 1]], axis=-1)
    velocity = _apply(to_root[:-1], pos[1:] - pos[:-1])
    n = len(pos) - 1
    return np.concatenate([
        -0.5 * turn[:, None], root_step[:, [0, 2]], pos[:-1, 0, 1:2],
        ric[:-1].reshape(n, -1), six[:-1].reshape(n, -1), velocity.reshape(n, -1),
        foot_contacts(pos)], axis=1).astype(np.float32)


def features_to_joints(features: np.ndarray) -> np.ndarray:
    """(T, 263) features -> (T, 22, 3) float32 joint positions, via npy_read.recover_from_ric
    (positions from the root and ric blocks only)."""
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise ValueError(f"expected features of shape (T, {FEATURE_DIM}), got {features.shape}")
    return recover_from_ric(features, NUM_JOINTS).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Normalizer:
    """Per-dimension z-scoring of 263-dim features: (x - mean) / std.

    Plain statistics over all frames of the fitted clips. Unlike HumanML3D we do not rescale the
    std of the root, velocity and contact blocks (their feat_bias weighting); a model that wants
    such weighting should put it in its loss, where it is visible.
    """
    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self):
        for name in ("mean", "std"):
            value = np.array(getattr(self, name), dtype=np.float32)
            if value.shape != (FEATURE_DIM,) or not np.isfinite(value).all():
                raise ValueError(f"Normalizer.{name} must be {FEATURE_DIM} finite numbers, "
                                 f"got shape {value.shape}")
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        if (self.std <= 0).any():
            raise ValueError("Normalizer.std must be positive")

    @classmethod
    def fit(cls, features_list, min_std: float = STD_FLOOR) -> "Normalizer":
        """Mean and std over every frame of every (T_i, 263) array. The std is floored at
        `min_std`: dimensions that barely vary in the data (a foot contact that is always set, a
        rotation component fixed by a still joint) would otherwise have a std near zero, and
        dividing by it would blow any small deviation at generation or test time up into huge
        normalised values; with the floor such a dimension is merely left under unit variance."""
        arrays = [np.asarray(f, dtype=np.float64) for f in features_list]
        if not arrays or any(a.ndim != 2 or a.shape[1] != FEATURE_DIM for a in arrays):
            raise ValueError(f"expected a non-empty list of (T, {FEATURE_DIM}) arrays")
        frames = np.concatenate(arrays, axis=0)
        if not len(frames):
            raise ValueError("no frames to fit")
        return cls(frames.mean(0), np.maximum(frames.std(0), min_std))

    def normalize(self, features: np.ndarray) -> np.ndarray:
        return ((np.asarray(features) - self.mean) / self.std).astype(np.float32)

    def denormalize(self, normalized: np.ndarray) -> np.ndarray:
        return (np.asarray(normalized) * self.std + self.mean).astype(np.float32)

    def to_dict(self) -> dict:
        """Plain lists for a JSON manifest (float32 values survive JSON's float64 exactly)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Normalizer":
        return cls(np.asarray(data["mean"]), np.asarray(data["std"]))
