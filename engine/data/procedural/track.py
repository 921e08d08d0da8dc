"""A Track is what a primitive produces: joint-angle curves plus how the root should move.

The root is placed afterwards (root.py), from the feet: that keeps feet on the floor and
planted feet from skating, for every primitive and for compositions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.skeleton import JOINT_INDEX, MIRROR, NUM_JOINTS


@dataclass
class Params:
    """Numbers a primitive reads; the sampler turns words (slowly, twice, tired...) into these."""
    speed: float = 1.0          # timing factor, > 1 is faster
    amplitude: float = 1.0      # joint-angle range factor
    reps: int = 1               # repetitions of a discrete action
    duration: float = 4.0       # seconds of a continuous action (walking, waving, looking around)
    direction: str = "forward"  # locomotion: forward, diagonal_left/right, circle_left/right
    in_place: bool = False      # turns: stepping in place rather than walking
    turn: float = np.pi / 2     # turns: angle in radians
    slump: float = 0.0          # tired posture: trunk and head bent forward (radians)
    first: int = 1              # look_around: +1 looks left first, -1 right first
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def jitter(self, value: float, rel: float = 0.08) -> float:
        """A little per-clip variation so that no two clips of a kind are identical."""
        return float(value * (1.0 + rel * self.rng.uniform(-1, 1)))


@dataclass
class Track:
    angles: np.ndarray   # (T, 22, 3) local Euler angles, see fk.py for the conventions
    yaw: np.ndarray      # (T,) heading in radians, > 0 turns toward body-left (+X)
    lift: np.ndarray     # (T,) height added above the grounded pose (flight of a jump), metres
    push: np.ndarray     # (T, 2) ground displacement per frame in the body frame (x left, z forward)
    stance: np.ndarray   # (T,) 1 where the planted feet carry the root, 0 where `push` does

    @property
    def frames(self) -> int:
        return int(self.angles.shape[0])

    @classmethod
    def standing(cls, angles: np.ndarray) -> "Track":
        frames = angles.shape[0]
        return cls(angles, np.zeros(frames), np.zeros(frames), np.zeros((frames, 2)), np.ones(frames))


def neutral_pose(frames: int, p: Params) -> np.ndarray:
    """Relaxed standing: arms hanging slightly out, elbows soft, a slow breath; tired clips slump."""
    a = np.zeros((frames, NUM_JOINTS, 3))
    for side in (1, -1):
        add(a, "shoulder", side, x=-0.05, z=0.12)
        add(a, "elbow", side, x=-0.2)
    breath = 0.02 * np.sin(2 * np.pi * 0.25 * np.arange(frames) / 20.0 + p.rng.uniform(0, 6.3))
    add(a, "spine3", 0, x=breath + p.slump * 0.5)
    add(a, "spine2", 0, x=p.slump * 0.5)
    add(a, "neck", 0, x=p.slump * 0.8)
    return a


def add(a: np.ndarray, joint: str, side: int, x=0.0, y=0.0, z=0.0) -> None:
    """Add angles to a joint; side +1 is the body-left joint, -1 the right (y, z mirrored), 0 a centre joint."""
    if side == 0:
        j, s = JOINT_INDEX[joint], 1.0
    else:
        j, s = JOINT_INDEX[("l_" if side > 0 else "r_") + joint], float(side)
    a[:, j, 0] += x
    a[:, j, 1] += s * y
    a[:, j, 2] += s * z


def mirror_angles(a: np.ndarray) -> np.ndarray:
    out = a[:, list(MIRROR)].copy()
    out[..., 1:] *= -1
    return out


def mirror(track: Track) -> Track:
    """The same motion with left and right exchanged (a left kick becomes a right kick)."""
    return Track(mirror_angles(track.angles), -track.yaw, track.lift.copy(),
                 track.push * np.array([-1.0, 1.0]), track.stance.copy())
