"""Locomotion: walking, jogging, running (forward, backward, diagonal, in a circle), side steps, turns.

All gaits come from one cyclic leg/arm pattern; the root is carried by the stance foot (root.py),
so stride length and travel direction follow from the joint angles and the heading curve.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .curves import bump, frames_for, ramp, times, window
from .track import Params, Track, add, mirror, neutral_pose


@dataclass(frozen=True)
class Gait:
    cadence: float   # gait cycles per second (two steps each)
    hip: float       # hip flexion amplitude (rad)
    hip_bias: float  # running swings the thigh further forward than back
    knee: float      # swing-phase knee flexion (rad)
    arm: float       # shoulder swing amplitude (rad)
    elbow: float     # elbow flexion (rad)
    lean: float      # trunk lean forward (rad)
    flight: float    # vertical hop between steps (m); 0 for walking
    # How far the speed and amplitude words move the cadence and the stride (hip swing, knee lift). A walk spans
    # a stroll to a brisk walk; a jog and a run keep to their own bands, so that a slow, short-stepped run is
    # still a run and a fast jog with big steps still a jog (with the full range the two overlapped, and the
    # words "jog" and "run" had no motion of their own to name).
    speed_band: tuple[float, float] = (0.6, 1.3)
    stride_band: tuple[float, float] = (0.0, float("inf"))
    # The pace (cadence x stride x hip swing, which the ground speed follows) a clip keeps to, after the bands
    # and the per-clip jitter. The two bands above alone let a quick, long-striding jog outpace a slow run (the
    # default library's jogs ran up to 3.0 m/s, its runs from 2.2). The two bands below are 1.43 apart, more than
    # the bodies' spread in size (1.22): the default library's jogs now move at 1.37-2.32 m/s, its runs at
    # 2.66-4.36 (bench/RESULTS.md, fourteenth session).
    pace_band: tuple[float, float] = (0.0, float("inf"))


WALK = Gait(0.9, 0.36, 0.15, 1.0, 0.3, 0.25, 0.03, 0.0)
JOG = Gait(1.2, 0.45, 0.12, 1.3, 0.45, 1.2, 0.1, 0.03, speed_band=(0.85, 1.2), stride_band=(0.85, 1.2),
           pace_band=(0.40, 0.60))
RUN = Gait(1.5, 0.6, 0.2, 1.7, 0.6, 1.45, 0.16, 0.06, speed_band=(0.85, 1.2), stride_band=(0.85, 1.2),
           pace_band=(0.86, 1.30))
STEP_IN_PLACE = Gait(0.9, 0.04, 0.25, 0.7, 0.08, 0.25, 0.0, 0.0)


def gait_track(g: Gait, p: Params, backward: bool = False) -> Track:
    """A gait whose amplitude eases in from standing and out to standing over p.duration."""
    t = times(frames_for(p.duration))
    a = neutral_pose(len(t), p)
    env = window(t, 0.0, t[-1] + 1e-3, min(0.6, t[-1] / 3))
    cadence = p.jitter(g.cadence) * np.clip(p.speed, *g.speed_band)  # beyond that, people lengthen the stride
    stride = float(np.clip(p.amplitude, *g.stride_band))
    step = max(stride, 0.75)  # smaller steps than that stop looking like a walk
    pace = cadence * step * g.hip
    cadence *= float(np.clip(pace, *g.pace_band)) / pace
    phase = 2 * np.pi * cadence * t + p.rng.uniform(0, 2 * np.pi)
    if backward:  # a time-reversed walk is a plausible backward walk
        phase = -phase
    amp = env * step
    for side, ph in ((1, phase), (-1, phase + np.pi)):
        # near-triangular hip swing: the stance foot slides back at a steady speed, so the body does too
        flex = amp * (g.hip_bias + g.hip * np.arcsin(0.95 * np.sin(ph)) / np.arcsin(0.95))
        knee = np.sqrt(env) * (0.05 + g.knee * _swing(ph)) * min(stride, 1.2)  # lift feet from the first step
        add(a, "hip", side, x=-flex)
        add(a, "knee", side, x=knee)
        add(a, "ankle", side, x=flex - knee)  # keep the sole parallel to the floor
        add(a, "shoulder", side, x=-amp * g.arm * np.sin(ph + np.pi))  # arm swings with the other leg
        add(a, "elbow", side, x=-env * g.elbow)
    add(a, "pelvis", 0, y=-0.08 * amp * np.sin(phase))  # hips rotate with the leading leg
    add(a, "spine3", 0, y=0.1 * amp * np.sin(phase), x=env * g.lean)
    track = Track.standing(a)
    track.lift = g.flight * env * np.clip(-np.cos(2 * phase), 0, None)  # flight at the step changes
    track.yaw = _heading(t, p, env)
    return track


def _swing(phase: np.ndarray) -> np.ndarray:
    """Knee flexion profile: 0 in stance, up in the swing (hip going from extension to flexion),
    peaking in its first half, back to straight just before the heel strikes (phase pi/2)."""
    x = (np.mod(phase + np.pi, 2 * np.pi) - np.pi + np.pi / 2 + 0.1) / (np.pi + 0.15)  # swing mapped to 0..1
    x = np.clip(x, 0.0, 1.0)
    return np.sin(np.pi * x ** 0.8) ** 2


def _heading(t: np.ndarray, p: Params, env: np.ndarray) -> np.ndarray:
    sign = 1.0 if p.direction.endswith("left") else -1.0
    if p.direction.startswith("diagonal"):
        return sign * (np.pi / 4) * ramp(t, 0.1, 0.9)
    if p.direction.startswith("circle"):
        return sign * 2 * np.pi * np.cumsum(env) / env.sum()
    return np.zeros_like(t)


def walk(p: Params) -> Track:
    return gait_track(WALK, p)


def jog(p: Params) -> Track:
    return gait_track(JOG, p)


def run(p: Params) -> Track:
    return gait_track(RUN, p)


def walk_backwards(p: Params) -> Track:
    return gait_track(replace(WALK, hip=0.28, cadence=0.8, lean=0.0), replace(p, direction="forward"), backward=True)


def side_step_left(p: Params) -> Track:
    """Step sideways to the left: the left leg lifts and goes out, then the right leg follows."""
    period = 1.1 / p.speed
    t = times(frames_for(p.reps * period + 0.3))
    a = neutral_pose(len(t), p)
    u = np.clip(t / period, 0, p.reps)  # cycles done so far
    frac = u - np.floor(u)
    spread = np.where(u >= p.reps, 0.0, np.sin(np.pi * frac) ** 2)  # feet apart mid-cycle
    width = 0.2 * p.amplitude
    lift_left = bump(np.where(u >= p.reps, 0.0, frac), 0.0, 0.5)
    lift_right = bump(np.where(u >= p.reps, 0.0, frac), 0.5, 1.0)
    for side, lift in ((1, lift_left), (-1, lift_right)):
        add(a, "hip", side, z=width * spread, x=-0.35 * lift)
        add(a, "knee", side, x=0.7 * lift)
        add(a, "ankle", side, z=-width * spread, x=0.35 * lift - 0.7 * lift)
        add(a, "shoulder", side, z=0.1 * spread)
    return Track.standing(a)


def side_step_right(p: Params) -> Track:
    return mirror(side_step_left(p))


def turn_left(p: Params) -> Track:
    """Turn toward body-left (+X), walking or stepping in place; the heading eases through p.turn."""
    track = gait_track(STEP_IN_PLACE if p.in_place else WALK, replace(p, direction="forward"))
    t = times(track.frames)
    mid, span = t[-1] / 2, min(1.6, t[-1] / 2) / p.speed
    track.yaw = p.turn * ramp(t, mid - span / 2, mid + span / 2)
    return track


def turn_right(p: Params) -> Track:
    return mirror(turn_left(p))
