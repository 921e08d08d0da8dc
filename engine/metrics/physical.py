"""Model-free physical plausibility checks on canonical joints (T, 22, 3): metres, Y up, floor at y = 0.

No evaluator network is involved, so these numbers compare any generator with real mocap directly:
foot skating (GMD's skating ratio), floor penetration (PhysDiff's "Penetrate", on joints instead of
mesh vertices), jitter (mean joint acceleration) and bone-length drift (a generator that predicts
positions is free to stretch bones; a reader or a rig that keeps lengths scores ~0).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from engine.skeleton import BONES, FPS, JOINT_INDEX, NUM_JOINTS

# GMD's foot joints: the toe-level l_foot / r_foot. The ankles (skeleton.FOOT_JOINTS also lists them)
# stay above a 5 cm contact height even in a flat-footed stance, so they would hardly ever count.
SKATING_FEET = (JOINT_INDEX["l_foot"], JOINT_INDEX["r_foot"])
SKATING_HEIGHT_M = 0.05       # "in contact": below 5 cm in both frames of a step
SKATING_VELOCITY_MS = 0.50    # sliding: faster than 0.5 m/s horizontally (2.5 cm per frame at 20 fps)
SKATING_WINDOW = 5            # frames of the moving average that must also exceed the velocity


def _joints(joints, min_frames: int = 1) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected canonical joints (T, {NUM_JOINTS}, 3), got {j.shape}")
    if len(j) < min_frames:
        raise ValueError(f"needs at least {min_frames} frames, got {len(j)}")
    if not np.isfinite(j).all():
        raise ValueError("joint positions contain NaN or inf")
    return j


def foot_skating_ratio(joints, fps: float = FPS, height_threshold: float = SKATING_HEIGHT_M,
                       velocity_threshold: float = SKATING_VELOCITY_MS, window: int = SKATING_WINDOW,
                       feet: tuple[int, ...] = SKATING_FEET) -> float:
    """Share of frame-to-frame steps in which at least one foot skates (GMD, Karunratanakul et al. 2023,
    `calculate_skating_ratio`; reused by OmniControl and MotionLCM).

    For each step t -> t+1 and foot: v = horizontal (XZ) speed in m/s; the foot skates when it is below
    `height_threshold` in both frames, v > `velocity_threshold` and the centred `window`-frame moving
    average of v (zero-padded at the clip ends, scipy `uniform_filter1d(mode="constant")` as GMD) also
    exceeds it, so a one-frame glitch is not enough. The ratio divides by the T - 1 steps.
    """
    j = _joints(joints, min_frames=2)[:, list(feet)]               # (T, F, 3)
    speed = np.linalg.norm(np.diff(j[..., [0, 2]], axis=0), axis=-1) * fps   # (T-1, F)
    speed_avg = uniform_filter1d(speed, size=window, axis=0, mode="constant", origin=0)
    low = j[..., 1] < height_threshold
    contact = low[:-1] & low[1:]
    skating = contact & (speed > velocity_threshold) & (speed_avg > velocity_threshold)
    return float(skating.any(axis=1).mean())


def floor_penetration(joints, floor: float = 0.0) -> dict[str, float]:
    """Depth of the lowest joint below the floor: {"max": deepest over the clip, "mean": mean over frames}.

    A frame's penetration is max(0, floor - min_j y_j) in metres, so frames above the floor count 0 (as
    PhysDiff's "Penetrate", Yuan et al. 2023, with joints for mesh vertices). A canonicalised clip has
    its lowest point at y = 0 by construction; this measures generated output before re-flooring.
    """
    depth = np.maximum(0.0, floor - _joints(joints)[..., 1].min(axis=1))
    return {"max": float(depth.max()), "mean": float(depth.mean())}


def jitter(joints, fps: float = FPS) -> float:
    """Mean joint acceleration magnitude in m/s^2: ||x[t+1] - 2 x[t] + x[t-1]|| * fps^2 (the second
    central difference), averaged over the T - 2 inner frames and all joints. Smooth motion is low,
    frame-to-frame noise is amplified by fps^2."""
    j = _joints(joints, min_frames=3)
    acc = (j[2:] - 2.0 * j[1:-1] + j[:-2]) * fps ** 2
    return float(np.linalg.norm(acc, axis=-1).mean())


def bone_lengths(joints) -> np.ndarray:
    """(T, n_bones) length of each skeleton.BONES (parent, child) segment."""
    p, c = np.array(BONES).T
    j = _joints(joints)
    return np.linalg.norm(j[:, c] - j[:, p], axis=-1)


def bone_length_deviation(joints, reference_lengths=None) -> np.ndarray:
    """(T, n_bones) relative deviation |L_t - L_ref| / L_ref; L_ref defaults to each bone's median over
    the clip (robust to a minority of bad frames, needs no rig)."""
    lengths = bone_lengths(joints)
    ref = np.median(lengths, axis=0) if reference_lengths is None else \
        np.asarray(reference_lengths, dtype=np.float64)
    if ref.shape != (len(BONES),):
        raise ValueError(f"reference_lengths must hold one length per bone ({len(BONES)}), got {ref.shape}")
    if not (ref > 0).all():
        raise ValueError("reference bone lengths must be positive")
    return np.abs(lengths - ref) / ref


def bone_length_error(joints, reference_lengths=None) -> float:
    """Mean over frames and bones of the relative bone-length deviation (0.10 = bones off by 10%)."""
    return float(bone_length_deviation(joints, reference_lengths).mean())


def physical_report(joints, fps: float = FPS) -> dict[str, float]:
    """All checks above on one clip, as plain floats (penetration in metres, jitter in m/s^2)."""
    j = _joints(joints, min_frames=3)
    pen = floor_penetration(j)
    return {
        "skating_ratio": foot_skating_ratio(j, fps=fps),
        "penetration_max_m": pen["max"],
        "penetration_mean_m": pen["mean"],
        "jitter_ms2": jitter(j, fps=fps),
        "bone_length_error": bone_length_error(j),
    }
