"""Place the root from the feet: the lowest foot touches the floor, planted feet do not skate."""
from __future__ import annotations

import numpy as np

from engine.skeleton import FOOT_JOINTS

from .fk import REST_OFFSETS, forward_kinematics
from .track import Track

CONTACT_SOFTNESS_M = 0.01  # feet within ~1 cm of the lowest one share the support


def place_root(track: Track, offsets: np.ndarray = REST_OFFSETS) -> np.ndarray:
    """Track -> (T, 22, 3) world joint positions (not yet canonicalised)."""
    pos = forward_kinematics(track.angles, track.yaw, offsets)
    feet = pos[:, list(FOOT_JOINTS)]                                   # (T, 4, 3)
    height = -feet[..., 1].min(axis=1) + track.lift                    # pelvis height: lowest foot on y=0
    # Support weights between consecutive frames: a soft-min over foot heights, so that the foot
    # that is (nearly) lowest is the one that stays put, and two level feet share the job smoothly.
    y_mid = 0.5 * (feet[1:, :, 1] + feet[:-1, :, 1])
    w = np.exp(-(y_mid - y_mid.min(axis=1, keepdims=True)) / CONTACT_SOFTNESS_M)
    w /= w.sum(axis=1, keepdims=True)
    foot_step = np.einsum("tj,tjc->tc", w, np.diff(feet[..., [0, 2]], axis=0))
    c, s = np.cos(track.yaw[1:]), np.sin(track.yaw[1:])
    px, pz = track.push[1:, 0], track.push[1:, 1]
    push_step = np.stack([c * px + s * pz, -s * px + c * pz], axis=1)  # body frame -> world, yaw about +Y
    stance = track.stance[1:, None]
    step = stance * -foot_step + (1.0 - stance) * push_step
    ground = np.concatenate([np.zeros((1, 2)), np.cumsum(step, axis=0)])
    pos[..., 0] += ground[:, None, 0]
    pos[..., 2] += ground[:, None, 1]
    pos[..., 1] += height[:, None]
    return pos
