"""A model-free nearest neighbour: the training motion closest in pose space, for a second caption baseline.

The headline baseline takes the neighbour in our own lexical space, which is as good as our retrieval
(on Bandai the neighbour shares the query's content in every test take). This one uses no model at all, so
it shows what a caption copied from the most similar-looking motion is worth: each canonical motion
(first frame at the origin, facing +Z) becomes its root trajectory and root-relative joints at
POSE_FRAMES instants spread over the clip, standardised per dimension over the training motions, and the
neighbour is the nearest in Euclidean distance.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

POSE_FRAMES = 32


def pose_signature(joints: np.ndarray, frames: int = POSE_FRAMES) -> np.ndarray:
    """(T, J, 3) canonical joints -> (frames * J * 3,): root path and root-relative pose over time."""
    joints = np.asarray(joints, dtype=np.float32)
    pose = joints - joints[:, :1]
    pose[:, 0] = joints[:, 0]                      # the root keeps its own trajectory
    at = np.linspace(0, joints.shape[0] - 1, frames)
    lower = np.floor(at).astype(int)
    upper = np.minimum(lower + 1, joints.shape[0] - 1)
    weight = (at - lower)[:, None, None].astype(np.float32)
    return ((1 - weight) * pose[lower] + weight * pose[upper]).ravel()


def nearest_by_pose(queries: Sequence[np.ndarray], library: Sequence[np.ndarray]) -> np.ndarray:
    """Index into `library` of each query's nearest motion (Euclidean on standardised signatures)."""
    lib = np.stack([pose_signature(j) for j in library])
    mean, scale = lib.mean(0), lib.std(0) + 1e-6
    lib = (lib - mean) / scale
    q = (np.stack([pose_signature(j) for j in queries]) - mean) / scale
    distances = (q * q).sum(1)[:, None] - 2 * q @ lib.T + (lib * lib).sum(1)[None]
    return distances.argmin(axis=1)
