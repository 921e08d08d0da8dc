"""Arm actions: punches, waves, arm raises, claps. `side` is +1 for the body-left arm, -1 the right."""
from __future__ import annotations

import numpy as np

from .curves import frames_for, keyframes, rep_phase, times, window
from .track import Params, Track, add, neutral_pose

LEAD_S = 0.4  # standing still before the action starts


def _clip_times(p: Params, period: float, tail: float = 0.4) -> np.ndarray:
    return times(frames_for(LEAD_S + p.reps * period + tail))


def punch(p: Params, side: int) -> Track:
    """Fists up in a guard, then straight punches with one hand, then the guard drops."""
    period = p.jitter(0.75) / p.speed
    t = _clip_times(p, period, 0.6)
    a = neutral_pose(len(t), p)
    guard = window(t, 0.05, t[-1], 0.35)
    for s in (1, -1):  # guard: upper arms forward-down, elbows bent, fists near the chin
        add(a, "shoulder", s, x=-0.55 * guard, z=-0.05 * guard)
        add(a, "elbow", s, x=-2.0 * guard)
    u = rep_phase(t, LEAD_S + 0.1, period, p.reps)
    hit = keyframes(u, [(0, 0), (0.25, 1), (0.45, 1), (0.8, 0), (1, 0)]) * min(p.amplitude, 1.2)
    add(a, "shoulder", side, x=-1.0 * hit, y=-0.25 * hit)  # the arm straightens toward the midline
    add(a, "elbow", side, x=1.95 * hit)
    add(a, "spine3", 0, y=-0.3 * side * hit)  # the punching shoulder drives forward
    return Track.standing(a)


def wave(p: Params, sides: tuple[int, ...]) -> Track:
    """Hand(s) raised beside the head, forearm swinging side to side."""
    t = times(frames_for(p.duration))
    a = neutral_pose(len(t), p)
    up = window(t, 0.2, t[-1], min(0.6 / p.speed, t[-1] / 3))
    swing = np.sin(2 * np.pi * p.jitter(1.8) * np.clip(p.speed, 0.8, 1.3) * t) * 0.45 * p.amplitude
    for s in sides:
        add(a, "shoulder", s, z=1.9 * up, x=-0.25 * up)
        add(a, "elbow", s, z=(1.0 + swing) * up)
    return Track.standing(a)


def raise_arm(p: Params, sides: tuple[int, ...]) -> Track:
    """Raise the arm(s) up over the head (to shoulder height when 'slightly'), hold, lower; per repetition."""
    period = p.jitter(2.0) / p.speed
    t = _clip_times(p, period)
    a = neutral_pose(len(t), p)
    u = rep_phase(t, LEAD_S, period, p.reps)
    up = keyframes(u, [(0, 0), (0.35, 1), (0.65, 1), (1, 0)])
    height = 2.85 if p.amplitude >= 1.0 else 1.4 * p.amplitude / 0.6  # overhead, or about shoulder level
    forward = p.rng.uniform(0.1, 0.6)  # some raise sideways, some more in front
    for s in sides:
        add(a, "shoulder", s, z=height * up, x=-forward * up)
        add(a, "elbow", s, x=0.15 * up)
    return Track.standing(a)


def clap(p: Params) -> Track:
    """Both hands come together in front of the chest, p.reps times."""
    period = p.jitter(0.45) / p.speed
    t = times(frames_for(LEAD_S + 0.5 + p.reps * period + 0.6))
    a = neutral_pose(len(t), p)
    ready = window(t, 0.1, t[-1], 0.45)
    u = rep_phase(t, LEAD_S + 0.4, period, p.reps)
    close = keyframes(u, [(0, 0), (0.5, 1), (1, 0)])
    for s in (1, -1):
        add(a, "shoulder", s, x=-1.0 * ready, y=(0.1 - 0.65 * close) * ready)
        add(a, "elbow", s, x=-0.9 * ready)
    return Track.standing(a)
