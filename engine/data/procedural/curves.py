"""Joint-angle curves as functions of time (seconds): eased steps, windows, repetitions."""
from __future__ import annotations

import numpy as np

from engine.skeleton import FPS


def times(frames: int) -> np.ndarray:
    return np.arange(frames) / FPS


def frames_for(seconds: float) -> int:
    return max(1, int(round(seconds * FPS)))


def ease(x: np.ndarray) -> np.ndarray:
    """Smoothstep on [0, 1]: zero velocity at both ends, so motions start and stop softly."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def ramp(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """0 before t0, eased rise, 1 after t1."""
    return ease((t - t0) / max(t1 - t0, 1e-6))


def window(t: np.ndarray, t0: float, t1: float, rise: float) -> np.ndarray:
    """Eased up at t0, held, eased down to 0 at t1."""
    rise = min(rise, (t1 - t0) / 2)
    return ramp(t, t0, t0 + rise) * (1.0 - ramp(t, t1 - rise, t1))


def bump(u: np.ndarray, u0: float, u1: float) -> np.ndarray:
    """Raised-cosine bump that is 0 outside (u0, u1) and 1 in the middle."""
    x = np.clip((u - u0) / (u1 - u0), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(2 * np.pi * x)


def rep_phase(t: np.ndarray, lead: float, period: float, reps: int) -> np.ndarray:
    """Phase in [0, 1) within the current repetition, 0 before the first and after the last.

    Profiles written on this phase must be 0 at 0 and 1 so repetitions join without a jump.
    """
    g = (t - lead) / period
    active = (g >= 0) & (g < reps)
    return np.where(active, g - np.floor(g), 0.0)


def keyframes(u: np.ndarray, knots: list[tuple[float, float]]) -> np.ndarray:
    """Eased interpolation through (phase, value) knots: each segment is a smoothstep."""
    us = np.array([k[0] for k in knots])
    vs = np.array([k[1] for k in knots])
    i = np.clip(np.searchsorted(us, u, side="right") - 1, 0, len(us) - 2)
    x = (u - us[i]) / (us[i + 1] - us[i])
    return vs[i] + (vs[i + 1] - vs[i]) * ease(x)
