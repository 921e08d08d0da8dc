"""Physical plausibility of the procedural library over many clips and seeds."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.procedural import generate_clip
from engine.data.procedural.fk import REST_OFFSETS, euler_to_matrix, forward_kinematics
from engine.motion import facing_angle
from engine.skeleton import FOOT_JOINTS, JOINT_INDEX

J = JOINT_INDEX
FLIGHT = {"run", "jog", "jump_in_place", "jump_forward", "jumping_jacks"}


@pytest.fixture(scope="module")
def clips():
    return [generate_clip(i, seed) for seed in (0, 7) for i in range(250)]


def test_euler_matrices_are_ry_rx_rz_rotations():
    rng = np.random.default_rng(1)
    ang = rng.uniform(-3, 3, (50, 3))
    m = euler_to_matrix(ang)
    for (x, y, z), r in zip(ang, m):
        rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
        ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
        rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
        np.testing.assert_allclose(r, ry @ rx @ rz, atol=1e-12)
    np.testing.assert_allclose(m @ m.transpose(0, 2, 1), np.broadcast_to(np.eye(3), m.shape), atol=1e-12)


def test_rest_pose_faces_plus_z_with_left_at_plus_x_and_is_about_1_7_m():
    pos = forward_kinematics(np.zeros((1, 22, 3)), np.zeros(1))[0]
    assert pos[J["l_hip"], 0] > 0 and pos[J["l_shoulder"], 0] > 0 and pos[J["l_wrist"], 0] > 0
    assert pos[J["l_foot"], 2] > pos[J["l_ankle"], 2]  # toes point forward
    assert abs(facing_angle(pos)) < 1e-6
    assert 1.5 < pos[J["head"], 1] - pos[list(FOOT_JOINTS), 1].min() < 1.65  # head joint; the top is ~0.12 higher
    assert np.allclose(REST_OFFSETS[J["r_wrist"]], REST_OFFSETS[J["l_wrist"]] * [-1, 1, 1])


def test_bone_lengths_are_constant_to_one_percent(clips):
    for c in clips:
        bones = c.motion.bone_lengths()
        spread = (bones.max(0) - bones.min(0)) / bones.mean(0)
        assert spread.max() < 0.01, c.id


def test_clips_are_canonical_and_2_to_10_seconds(clips):
    for c in clips:
        j = c.motion.joints
        assert j.dtype == np.float32 and j.shape[1:] == (22, 3)
        assert 40 <= c.motion.frames <= 200, c.id
        assert abs(j[..., 1].min()) < 1e-5 and np.abs(j[0, 0, [0, 2]]).max() < 1e-5
        assert abs(facing_angle(j[0])) < 1e-4 and j[0, J["l_hip"], 0] > j[0, J["r_hip"], 0]


def test_the_floor_is_touched_by_the_feet_and_nothing_goes_below(clips):
    for c in clips:
        y = c.motion.joints[..., 1]
        assert y.min() >= -0.02
        assert int(np.unravel_index(y.argmin(), y.shape)[1]) in FOOT_JOINTS, c.id
        if not FLIGHT & set(c.label["primitives"]):  # a foot is on the floor in every frame
            assert y[:, list(FOOT_JOINTS)].min(1).max() < 0.03, c.id


def test_no_root_jumps(clips):
    for c in clips:
        step = np.linalg.norm(np.diff(c.motion.joints[:, 0], axis=0), axis=-1)
        assert step.max() < 0.3, c.id  # well under the 0.5 m/frame limit: < 6 m/s


def test_the_supporting_foot_does_not_skate(clips):
    """The lowest foot joint, when it stays the lowest and on the floor (< 1 mm) between two frames, slides < 2 cm."""
    for c in clips:
        if FLIGHT & set(c.label["primitives"]):
            continue  # take-off frames are coarse at 20 fps; flight primitives are checked for lift instead
        feet = c.motion.joints[:, list(FOOT_JOINTS)]
        low = feet[..., 1].argmin(1)
        t = np.nonzero((low[1:] == low[:-1]) & (feet[1:, :, 1].min(1) < 0.001) & (feet[:-1, :, 1].min(1) < 0.001))[0]
        slide = np.linalg.norm(feet[t + 1, low[t]][:, [0, 2]] - feet[t, low[t]][:, [0, 2]], axis=-1)
        assert slide.max(initial=0) < 0.02, (c.id, c.label["primitives"], t[slide.argmax()] if len(t) else None)
