"""Whole-body gestures: bow, jumping jacks, looking around."""
from __future__ import annotations

import numpy as np

from .curves import bump, frames_for, keyframes, rep_phase, times
from .track import Params, Track, add, neutral_pose

LEAD_S = 0.4


def bow(p: Params) -> Track:
    """Bend forward at the hips (legs straight), hold, come back up; per repetition."""
    period = p.jitter(2.0) / p.speed
    t = times(frames_for(LEAD_S + p.reps * period + 0.4))
    a = neutral_pose(len(t), p)
    u = rep_phase(t, LEAD_S, period, p.reps)
    depth = keyframes(u, [(0, 0), (0.35, 1), (0.6, 1), (1, 0)]) * 0.8 * p.amplitude
    add(a, "pelvis", 0, x=0.6 * depth)
    for s in (1, -1):
        add(a, "hip", s, x=-0.6 * depth)   # legs stay vertical while the pelvis tips forward
    add(a, "spine1", 0, x=0.2 * depth)
    add(a, "spine2", 0, x=0.2 * depth)
    add(a, "neck", 0, x=0.2 * depth)
    return Track.standing(a)


def jumping_jacks(p: Params) -> Track:
    """Hop the feet apart while the arms swing up overhead, hop back together; p.reps times."""
    period = p.jitter(1.0) / p.speed
    t = times(frames_for(LEAD_S + p.reps * period + 0.4))
    a = neutral_pose(len(t), p)
    u = rep_phase(t, LEAD_S, period, p.reps)
    spread = keyframes(u, [(0, 0), (0.15, 0), (0.35, 1), (0.65, 1), (0.85, 0), (1, 0)])
    hop = bump(u, 0.12, 0.38) + bump(u, 0.62, 0.88)
    dip = bump(u, 0.3, 0.5) + bump(u, 0.8, 1.0) + bump(u, 0.0, 0.2)  # knees give at each landing
    for s in (1, -1):
        add(a, "hip", s, z=0.28 * spread, x=-0.2 * dip)
        add(a, "knee", s, x=0.4 * dip)
        add(a, "ankle", s, z=-0.28 * spread, x=-0.2 * dip + 0.4 * hop)
        add(a, "shoulder", s, z=2.7 * spread * min(p.amplitude, 1.1))
    track = Track.standing(a)
    in_air = hop > 0.05
    track.lift = 0.08 * p.amplitude * np.sin(np.pi * np.clip(hop, 0, 1) / 2) * in_air
    track.stance = (~in_air).astype(float)
    return track


def look_around(p: Params) -> Track:
    """Turn the head (and a little the chest) to one side, then the other, then back."""
    first = p.first  # +1 looks left (+X) first; the sampler chose it and wrote it in the label
    look_s = p.jitter(1.2) / p.speed
    t = times(frames_for(LEAD_S + 3 * look_s + 0.5))
    u = np.clip((t - LEAD_S) / (3 * look_s), 0, 1)
    yaw = keyframes(u, [(0, 0), (0.25, first), (0.4, first), (0.7, -first), (0.8, -first), (1, 0)])
    a = neutral_pose(len(t), p)
    yaw = yaw * 0.9 * min(p.amplitude, 1.2)
    add(a, "neck", 0, y=0.45 * yaw)
    add(a, "head", 0, y=0.35 * yaw, x=0.1 * np.abs(yaw) * np.sin(2 * np.pi * u))
    add(a, "spine3", 0, y=0.2 * yaw)
    return Track.standing(a)
