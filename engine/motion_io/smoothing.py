"""Temporal smoothing of generated joints: the last step of decoding a generator's output (our addition).

The diffusion generator's x0 carries frame-to-frame noise that no part of its loss removes: on the synthetic
validation prompts the shipped base's raw joints accelerate 2.8x as much as the real motions do (SoPo's 4.2x),
while a Gaussian over time of under one frame removes that noise (bench/RESULTS.md, "Generation: output
smoothing"). `sigma` is in frames; 0 returns the joints unchanged (the raw output). Clip ends are held
(`mode="nearest"`), so a clip neither shrinks nor drifts toward zero at its ends.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

MAX_SIGMA_FRAMES = 10.0


def smooth_joints(joints: np.ndarray, sigma: float) -> np.ndarray:
    """(T, J, 3) joints -> the same shape, each coordinate filtered over time by a Gaussian of `sigma` frames."""
    if not 0.0 <= sigma <= MAX_SIGMA_FRAMES:
        raise ValueError(f"smoothing sigma must be between 0 and {MAX_SIGMA_FRAMES:g} frames, not {sigma!r}")
    if sigma == 0.0 or len(joints) < 2:
        return joints
    return gaussian_filter1d(np.asarray(joints), sigma, axis=0, mode="nearest").astype(joints.dtype, copy=False)
