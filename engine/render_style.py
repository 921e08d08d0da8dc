"""How a canonical motion is drawn, whatever draws it: side colours, bone groups, frame subsampling, heatmap
colours and the body's facing (engine/render.py renders frames with them; app/viewer.py plots them)."""
from __future__ import annotations

import numpy as np

from .skeleton import BONES, JOINT_NAMES, NUM_JOINTS, side_of  # noqa: F401


# Colour-blind-safe pair (blue / orange) for the two sides, a neutral grey for the spine and head.
SIDE_COLOURS: dict[str, str] = {"left": "#1f6fd1", "right": "#e8710a", "center": "#4a4a4a"}
SIDE_LABELS: dict[str, str] = {"left": "left side", "right": "right side", "center": "spine / head"}
SIDES: tuple[str, ...] = ("left", "right", "center")


def joint_colours() -> list[str]:
    """One colour per joint, by the side of the body it is on."""
    return [SIDE_COLOURS[side_of(j)] for j in range(NUM_JOINTS)]


def bones_by_side() -> dict[str, list[tuple[int, int]]]:
    """Bones grouped by the side of their child joint (a hip bone belongs to its leg's side)."""
    groups: dict[str, list[tuple[int, int]]] = {side: [] for side in SIDES}
    for parent, child in BONES:
        groups[side_of(child)].append((parent, child))
    return groups


def frame_indices(frames: int, max_frames: int) -> np.ndarray:
    """Evenly strided frame indices, at most max_frames of them, always starting at frame 0."""
    step = max(1, int(np.ceil(frames / max_frames)))
    return np.arange(0, frames, step)


def _hex_to_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


# A perceptually ordered ramp (pale -> dark red) for per-joint attention and importance maps.
HEAT_RAMP = ("#fff5eb", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603")


def heat_colours(values: np.ndarray, vmin: float | None = None, vmax: float | None = None) -> list[str]:
    """Map values onto HEAT_RAMP; a constant input maps to the ramp's first colour."""
    values = np.asarray(values, dtype=np.float64)
    lo = float(values.min()) if vmin is None else vmin
    hi = float(values.max()) if vmax is None else vmax
    t = np.zeros_like(values) if hi <= lo else np.clip((values - lo) / (hi - lo), 0.0, 1.0)
    stops = np.array([_hex_to_rgb(c) for c in HEAT_RAMP])
    pos = t * (len(HEAT_RAMP) - 1)
    low = np.floor(pos).astype(int).clip(0, len(HEAT_RAMP) - 2)
    frac = (pos - low)[..., None]
    rgb = stops[low] * (1 - frac) + stops[low + 1] * frac
    return ["#%02x%02x%02x" % tuple(int(round(c)) for c in colour) for colour in rgb.reshape(-1, 3)]


def facing_direction(pose: np.ndarray) -> np.ndarray:
    """Unit ground-plane (x, z) direction a (22, 3) Y-up pose faces, from its hips and shoulders.

    The viewer puts its camera in front of the body with this, so it never shows a back view,
    whatever convention produced the motion.
    """
    across = (pose[1] - pose[2]) + (pose[16] - pose[17])   # right -> left (l_hip - r_hip, l_sh - r_sh)
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))   # left x up = forward (left +X, up +Y -> +Z)
    ground = np.array([forward[0], forward[2]], dtype=np.float64)
    norm = np.linalg.norm(ground)
    return ground / norm if norm > 1e-8 else np.array([0.0, 1.0])
