"""Foot locking of generated joints (engine/motion_io/foot_lock.py): planted toes stop sliding, nothing else moves."""
import numpy as np
import pytest

from engine.metrics.physical import foot_skating_ratio
from engine.motion_io.foot_lock import TOES, lock_feet, planted_toes
from engine.skeleton import NUM_JOINTS

FRAMES = 40


def gliding_stance(speed_ms: float = 1.5) -> np.ndarray:
    """A still pose (toes on the floor, the rest above) carried along x at `speed_ms`: pure foot skating."""
    pose = np.random.default_rng(0).uniform(0.2, 1.6, size=(NUM_JOINTS, 3))
    pose[list(TOES), 1] = 0.02
    t = np.arange(FRAMES)[:, None, None] / 20.0
    return (pose[None] + np.array([speed_ms, 0.0, 0.0]) * t).astype(np.float32)


def contacts(value: float) -> np.ndarray:
    return np.full((FRAMES - 1, 4), value)


def test_a_glide_on_planted_toes_becomes_standing_still():
    glide = gliding_stance()
    planted = planted_toes(glide, contacts(1.0))
    assert planted.shape == (FRAMES - 1, 2) and planted.all()
    exact = lock_feet(glide, planted, sigma=0)
    assert np.allclose(exact, exact[:1], atol=1e-5)              # every joint holds its first-frame place
    assert foot_skating_ratio(glide) > 0.9 and foot_skating_ratio(lock_feet(glide, planted)) == 0.0


def test_heights_and_the_pose_are_untouched():
    glide = gliding_stance()
    locked = lock_feet(glide, planted_toes(glide, contacts(1.0)))
    assert np.array_equal(locked[..., 1], glide[..., 1])
    relative = locked - locked[:, :1]
    assert np.allclose(relative, glide - glide[:, :1], atol=1e-5)


def test_feet_the_generator_does_not_plant_are_left_alone():
    glide = gliding_stance()
    assert not planted_toes(glide, contacts(0.0)).any()
    assert lock_feet(glide, planted_toes(glide, contacts(0.0))) is glide
    lifted = glide.copy()
    lifted[:, list(TOES), 1] = 0.3                                # in the air: the contact channel is not believed
    assert not planted_toes(lifted, contacts(1.0)).any()


def test_one_planted_foot_carries_the_body():
    """Only the left toe planted, and only in the second half: the body stops there, not before."""
    glide = gliding_stance()
    planted = np.zeros((FRAMES - 1, 2), dtype=bool)
    planted[20:, 0] = True
    locked = lock_feet(glide, planted, sigma=0)
    left = locked[:, TOES[0], 0]
    assert np.allclose(np.diff(left[:21]), 1.5 / 20, atol=1e-5) and np.allclose(left[20:], left[20], atol=1e-5)


def test_malformed_inputs_are_refused():
    glide = gliding_stance()
    with pytest.raises(ValueError, match="foot contacts"):
        planted_toes(glide, np.ones((5, 4)))
    with pytest.raises(ValueError, match="planted"):
        lock_feet(glide, np.ones((3, 2), bool))


def test_a_turn_in_place_does_not_travel():
    """The body spins about the pelvis with one toe marked planted: locking must not turn the spin into a walk."""
    pose = gliding_stance(0.0)[0]
    pelvis = pose[0, [0, 2]]
    angles = np.linspace(0, np.pi, FRAMES)
    spun = np.repeat(pose[None], FRAMES, axis=0)
    rel = pose[:, [0, 2]] - pelvis
    for t, a in enumerate(angles):
        c, s = np.cos(a), np.sin(a)
        spun[t, :, 0] = pelvis[0] + rel[:, 0] * c - rel[:, 1] * s
        spun[t, :, 2] = pelvis[1] + rel[:, 0] * s + rel[:, 1] * c
    planted = np.zeros((FRAMES - 1, 2), dtype=bool)
    planted[:, 0] = True
    assert np.linalg.norm(spun[1:, TOES[0]] - spun[:-1, TOES[0]], axis=-1).sum() > 0.3   # the toe is carried round
    assert np.allclose(lock_feet(spun, planted, sigma=0), spun, atol=1e-6)                # and nothing is held back


def test_locking_only_slows_the_body_along_its_own_path():
    """A body standing still while a planted toe drags sideways is not moved; a toe sliding against the body's
    travel does not speed it up."""
    still = gliding_stance(0.0)
    drag = still.copy()
    drag[:, TOES[0], 2] += np.linspace(0, 0.8, FRAMES)
    planted = np.ones((FRAMES - 1, 2), dtype=bool)
    assert np.array_equal(lock_feet(drag, planted, sigma=0)[:, 0], drag[:, 0])
    walk = gliding_stance(1.0)
    walk[:, list(TOES), 0] = walk[0, list(TOES), 0] - np.linspace(0, 0.5, FRAMES)[:, None]   # toes slide back
    assert np.allclose(lock_feet(walk, planted, sigma=0), walk)
