"""Leg-driven actions: jumps, squats, kicks, sitting down and standing up."""
from __future__ import annotations

import numpy as np

from .curves import frames_for, keyframes, rep_phase, times
from .track import Params, Track, add, mirror, neutral_pose

LEAD_S = 0.4


def crouch(a: np.ndarray, depth: np.ndarray, lean: float = 0.35) -> None:
    """Bend hips, knees and ankles together (feet flat, knees over the toes); depth 1 = thighs level."""
    for s in (1, -1):
        add(a, "hip", s, x=-1.45 * depth)
        add(a, "knee", s, x=1.95 * depth)
        add(a, "ankle", s, x=-0.5 * depth)
    add(a, "spine1", 0, x=0.6 * lean * depth)
    add(a, "spine2", 0, x=0.4 * lean * depth)
    add(a, "neck", 0, x=-0.3 * lean * depth)  # eyes stay up


def _jump(p: Params, forward_m: float) -> Track:
    period = p.jitter(1.3) / p.speed
    t = times(frames_for(LEAD_S + p.reps * period + 0.4))
    a = neutral_pose(len(t), p)
    u = rep_phase(t, LEAD_S, period, p.reps)
    take_off, landing = 0.38, 0.62
    depth = keyframes(u, [(0, 0), (0.3, 0.5), (take_off, 0), (landing, 0), (0.75, 0.4), (1, 0)])
    crouch(a, depth)
    in_air = (u > take_off) & (u < landing)
    # heels rise in the push-off (still standing, so the toes stay put) and the toes point in the air
    point = keyframes(u, [(0, 0), (0.3, 0), (take_off, 1), (landing - 0.06, 0.6), (landing, 0), (1, 0)])
    swing = keyframes(u, [(0, 0), (0.3, -1), (0.45, 1), (0.7, 0.4), (1, 0)])  # arms back, then up
    for s in (1, -1):
        add(a, "ankle", s, x=0.5 * point)
        add(a, "shoulder", s, x=-1.1 * swing)
    track = Track.standing(a)
    s = np.clip((u - take_off) / (landing - take_off), 0, 1)
    track.lift = np.where(in_air, 0.16 * p.amplitude * 4 * s * (1 - s), 0.0)
    track.stance = (~in_air).astype(float)
    track.push[in_air, 1] = forward_m / max(in_air.sum() / p.reps, 1)
    return track


def jump_in_place(p: Params) -> Track:
    return _jump(p, 0.0)


def jump_forward(p: Params) -> Track:
    return _jump(p, p.jitter(0.7) * p.amplitude)


def squat(p: Params) -> Track:
    period = p.jitter(2.2) / p.speed
    t = times(frames_for(LEAD_S + p.reps * period + 0.3))
    a = neutral_pose(len(t), p)
    u = rep_phase(t, LEAD_S, period, p.reps)
    depth = keyframes(u, [(0, 0), (0.4, 1), (0.55, 1), (1, 0)]) * min(p.amplitude, 1.15)
    crouch(a, depth, lean=0.5)
    for s in (1, -1):  # arms reach forward for balance
        add(a, "shoulder", s, x=-1.3 * depth)
        add(a, "elbow", s, x=-0.2 * depth)
    return Track.standing(a)


def sit_down_stand_up(p: Params) -> Track:
    """Sit down on nothing (as onto a low chair), stay seated a moment, stand back up."""
    sit_s = p.jitter(1.6) / p.speed
    hold_s = p.jitter(1.5)
    t = times(frames_for(LEAD_S + 2 * sit_s + hold_s + 0.4))
    a = neutral_pose(len(t), p)
    k0, k1, k2 = LEAD_S, LEAD_S + sit_s, LEAD_S + sit_s + hold_s
    u = np.clip((t - k0) / (k2 + sit_s - k0), 0, 1)
    f1, f2 = (k1 - k0) / (k2 + sit_s - k0), (k2 - k0) / (k2 + sit_s - k0)
    depth = keyframes(u, [(0, 0), (f1, 1.05), (f2, 1.05), (1, 0)])
    # the trunk leans far forward while the body lowers and rises, and sits up in between
    lean = keyframes(u, [(0, 0), (f1 * 0.6, 0.9), (f1, 0.25), (f2, 0.25), (f2 + (1 - f2) * 0.4, 0.9), (1, 0)])
    crouch(a, depth, lean=0.0)
    add(a, "spine1", 0, x=0.6 * lean)
    add(a, "spine2", 0, x=0.4 * lean)
    for s in (1, -1):  # hands come to rest on the thighs
        add(a, "shoulder", s, x=-0.7 * depth)
        add(a, "elbow", s, x=-0.5 * depth)
    return Track.standing(a)


def kick_left(p: Params) -> Track:
    """Front kick with the left leg: chamber the knee, snap the shin out, retract, put the foot down."""
    period = p.jitter(1.3) / p.speed
    t = times(frames_for(LEAD_S + p.reps * period + 0.4))
    a = neutral_pose(len(t), p)
    u = rep_phase(t, LEAD_S, period, p.reps)
    height = min(p.amplitude, 1.3)
    hip = keyframes(u, [(0, 0), (0.3, 0.9), (0.45, 1.35), (0.6, 0.9), (1, 0)]) * height
    knee = keyframes(u, [(0, 0), (0.3, 1.6), (0.45, 0.1), (0.6, 1.5), (1, 0)])
    active = keyframes(u, [(0, 0), (0.2, 1), (0.8, 1), (1, 0)])
    add(a, "hip", 1, x=-hip)
    add(a, "knee", 1, x=knee)
    add(a, "ankle", 1, x=0.3 * active)  # toes pointed
    add(a, "knee", -1, x=0.15 * active)  # standing knee soft
    add(a, "ankle", -1, x=-0.15 * active)
    add(a, "spine1", 0, x=-0.2 * active)  # lean back against the kick
    for s in (1, -1):
        add(a, "shoulder", s, z=0.35 * active, x=-0.3 * active)
        add(a, "elbow", s, x=-1.0 * active)
    return Track.standing(a)


def kick_right(p: Params) -> Track:
    return mirror(kick_left(p))
