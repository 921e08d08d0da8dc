"""Join tracks: the joint angles cross-fade, the heading and the root carry on."""
from __future__ import annotations

import numpy as np

from .curves import ease
from .track import Track

BLEND_FRAMES = 10  # half a second of cross-fade


def _fade(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    w = w.reshape((-1,) + (1,) * (a.ndim - 1))
    return (1.0 - w) * a + w * b


def concat(a: Track, b: Track, blend: int = BLEND_FRAMES) -> Track:
    """a then b, overlapping by `blend` frames; b's heading starts where a's overlap starts."""
    n = max(1, min(blend, a.frames // 3, b.frames // 3))
    w = ease(np.linspace(0.0, 1.0, n))
    b_yaw = b.yaw - b.yaw[0] + a.yaw[-n]

    def join(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.concatenate([x[:-n], _fade(x[-n:], y[:n], w), y[n:]])

    return Track(join(a.angles, b.angles), join(a.yaw, b_yaw), join(a.lift, b.lift),
                 join(a.push, b.push), join(a.stance, b.stance))


def hold(track: Track, frames: int, rest_angles: np.ndarray) -> Track:
    """Append `frames` of standing in `rest_angles` (one pose, shape (22, 3)) after the track."""
    still = Track.standing(np.repeat(rest_angles[None], frames + BLEND_FRAMES, axis=0))
    return concat(track, still)
