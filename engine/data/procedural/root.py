"""Place the root from the feet: the lowest foot touches the floor, planted feet do not skate."""
from __future__ import annotations

import numpy as np

from engine.skeleton import FOOT_JOINTS

from .fk import REST_OFFSETS, forward_kinematics
from .track import Track

SWITCH_MARGIN_M = 0.0005 # another foot joint must be this much lower to take over the support


def support_joints(heights: np.ndarray) -> np.ndarray:
    """(T, k) foot-joint heights -> (T,) index of the supporting joint: the lowest one, with hysteresis
    so that two level feet (standing, landing) do not trade the support back and forth."""
    lowest = heights.argmin(axis=1)
    support = np.empty(len(heights), dtype=int)
    current = lowest[0]
    for t, cand in enumerate(lowest):
        if heights[t, cand] < heights[t, current] - SWITCH_MARGIN_M:
            current = cand
        support[t] = current
    return support


def place_root(track: Track, offsets: np.ndarray = REST_OFFSETS) -> np.ndarray:
    """Track -> (T, 22, 3) world joint positions (not yet canonicalised)."""
    pos = forward_kinematics(track.angles, track.yaw, offsets)
    feet = pos[:, list(FOOT_JOINTS)]                                   # (T, 4, 3)
    height = -feet[..., 1].min(axis=1) + track.lift                    # pelvis height: lowest foot on y=0
    # The supporting foot joint stays where it is from one frame to the next; the root moves instead.
    s = support_joints(feet[..., 1])[1:]
    t = np.arange(1, len(feet))
    foot_step = feet[t, s][:, [0, 2]] - feet[t - 1, s][:, [0, 2]]
    c, sn = np.cos(track.yaw[1:]), np.sin(track.yaw[1:])
    px, pz = track.push[1:, 0], track.push[1:, 1]
    push_step = np.stack([c * px + sn * pz, -sn * px + c * pz], axis=1)  # body frame -> world, yaw about +Y
    stance = track.stance[1:, None]
    step = stance * -foot_step + (1.0 - stance) * push_step
    ground = np.concatenate([np.zeros((1, 2)), np.cumsum(step, axis=0)])
    pos[..., 0] += ground[:, None, 0]
    pos[..., 2] += ground[:, None, 1]
    pos[..., 1] += height[:, None]
    return pos
