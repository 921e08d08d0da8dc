"""The generator's output smoothing (engine/motion_io/smoothing.py): removes frame noise, keeps the motion."""
import numpy as np
import pytest

from engine.metrics.physical import jitter
from engine.motion_io.smoothing import smooth_joints


def test_zero_sigma_is_the_raw_output():
    j = np.random.default_rng(0).normal(size=(40, 22, 3)).astype(np.float32)
    assert smooth_joints(j, 0.0) is j


def test_frame_noise_is_removed_and_steady_motion_kept():
    t = np.arange(60, dtype=np.float32)[:, None, None] / 20.0
    walk = np.broadcast_to(np.array([1.2, 0.0, 0.0], np.float32) * t, (60, 22, 3)).copy()   # 1.2 m/s, no accel
    noisy = walk + np.random.default_rng(1).normal(scale=0.01, size=walk.shape).astype(np.float32)
    smoothed = smooth_joints(noisy, 0.6)
    assert smoothed.shape == noisy.shape and smoothed.dtype == np.float32
    assert jitter(smoothed) < 0.5 * jitter(noisy)
    # a constant velocity passes through unchanged away from the ends; the ends are held, not pulled to 0
    assert np.allclose(smooth_joints(walk, 0.6)[3:-3], walk[3:-3], atol=1e-5)
    assert abs(smooth_joints(walk, 0.6)[-1, 0, 0] - walk[-1, 0, 0]) < 0.05


@pytest.mark.parametrize("sigma", [-0.1, 10.5])
def test_sigma_outside_its_range_is_refused(sigma):
    with pytest.raises(ValueError, match="sigma"):
        smooth_joints(np.zeros((5, 22, 3), np.float32), sigma)
