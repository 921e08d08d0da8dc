"""Physical checks on synthetic motions whose answer is known, and on the real Bandai samples."""
from pathlib import Path

import numpy as np
import pytest

from engine.metrics.physical import (
    bone_length_deviation, bone_length_error, bone_lengths, floor_penetration, foot_skating_ratio, jitter,
    physical_report,
)
from engine.skeleton import BONES, JOINT_INDEX

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples"
L_FOOT, R_FOOT = JOINT_INDEX["l_foot"], JOINT_INDEX["r_foot"]


def standing(frames=41):
    """A static pose: joint j at (0.1 j, 0.5 + 0.05 j, 0) (all above 5 cm), feet on the floor."""
    j = np.zeros((frames, 22, 3))
    j[:, :, 0] = 0.1 * np.arange(22)
    j[:, :, 1] = 0.5 + 0.05 * np.arange(22)
    j[:, [L_FOOT, R_FOOT], 1] = 0.01
    return j


# ---- foot skating ---------------------------------------------------------------------------------

def test_static_feet_do_not_skate():
    assert foot_skating_ratio(standing()) == 0.0


def test_foot_sliding_on_the_floor_skates_every_step():
    j = standing()
    j[:, L_FOOT, 0] += 0.05 * np.arange(len(j))      # 5 cm per frame at 20 fps = 1 m/s > 0.5 m/s
    # every step: both frames 1 cm high, speed 1 m/s, window average >= 3/5 m/s even at the ends
    assert foot_skating_ratio(j) == 1.0


def test_half_of_the_clip_sliding_gives_one_half():
    j = standing(41)                                  # 40 steps
    x = np.minimum(np.arange(41), 20) * 0.05          # slides for steps 0..19, then stops
    j[:, R_FOOT, 2] += x
    # step 19: speed 1, window (17..21) average 3/5 > 0.5 -> skates; step 20: speed 0 -> not
    assert foot_skating_ratio(j) == pytest.approx(20 / 40)


def test_lifted_or_slow_feet_do_not_skate():
    lifted = standing()
    lifted[:, L_FOOT, 1] = 0.10                       # 10 cm above the floor: swinging, not sliding
    lifted[:, L_FOOT, 0] += 0.05 * np.arange(len(lifted))
    assert foot_skating_ratio(lifted) == 0.0
    slow = standing()
    slow[:, L_FOOT, 0] += 0.02 * np.arange(len(slow))   # 2 cm per frame = 0.4 m/s < 0.5 m/s
    assert foot_skating_ratio(slow) == 0.0
    # with a 0.3 m/s threshold it skates, except where the zero-padded 5-frame average falls short:
    # steps 0 and 39 average 3/5 * 0.4 = 0.24 < 0.3, steps 1 and 38 4/5 * 0.4 = 0.32 -> 38 of 40
    assert foot_skating_ratio(slow, velocity_threshold=0.3) == pytest.approx(38 / 40)
    # the same 2 cm per frame at 30 fps is 0.6 m/s; ends 0.36, next 0.48 < 0.5 -> 36 of 40
    assert foot_skating_ratio(slow, fps=30) == pytest.approx(36 / 40)


def test_contact_needs_both_frames_of_a_step_low():
    j = standing(41)
    j[:, L_FOOT, 0] += 0.05 * np.arange(41)            # 1 m/s all along
    j[21:, L_FOOT, 1] = 0.10                           # lifted from frame 21 on
    # steps 0..19 have both frames at 1 cm -> skate; step 20 (frame 20 low, 21 high) does not count
    assert foot_skating_ratio(j) == pytest.approx(20 / 40)


def test_a_one_frame_jump_needs_a_fast_window_too():
    # a single step of 5 cm (1 m/s) averages 1/5 m/s over 5 frames: not skating;
    # a single step of 20 cm (4 m/s) averages 0.8 m/s: that one step of 40 skates.
    small, big = standing(), standing()
    small[21:, L_FOOT, 0] += 0.05
    big[21:, L_FOOT, 0] += 0.20
    assert foot_skating_ratio(small) == 0.0
    assert foot_skating_ratio(big) == pytest.approx(1 / 40)


# ---- floor penetration ----------------------------------------------------------------------------

def test_floor_penetration_max_and_mean():
    j = standing(10)
    assert floor_penetration(j) == {"max": 0.0, "mean": 0.0}
    j[:5, L_FOOT, 1] = -0.03                          # 3 cm under the floor in 5 of 10 frames
    j[2, R_FOOT, 1] = -0.05                           # frame 2: the lowest joint is 5 cm under
    # per frame depth: 0.03, 0.03, 0.05, 0.03, 0.03, 0 x 5 -> max 0.05, mean 0.17 / 10
    got = floor_penetration(j)
    assert got["max"] == pytest.approx(0.05)
    assert got["mean"] == pytest.approx(0.017)


# ---- jitter ---------------------------------------------------------------------------------------

def test_constant_velocity_has_zero_jitter():
    j = standing(30)
    j += np.arange(30)[:, None, None] * np.array([0.03, 0.0, 0.07])   # straight line, constant speed
    assert jitter(j) == pytest.approx(0.0, abs=1e-9)


def test_parabola_has_its_acceleration():
    t = np.arange(40) / 20.0                          # 20 fps
    j = standing(40)
    j[:, :, 1] += (3.0 * t - 0.5 * 9.81 * t ** 2)[:, None]       # every joint falls with g
    assert jitter(j) == pytest.approx(9.81, rel=1e-9)
    one = standing(40)
    one[:, 15, 0] += 2.0 * t ** 2                     # only the head, a = 4 m/s^2 along x
    assert jitter(one) == pytest.approx(4.0 / 22, rel=1e-9)
    # the same positions read at 10 fps are 4 times slower in acceleration
    assert jitter(one, fps=10) == pytest.approx(1.0 / 22, rel=1e-9)


# ---- bone lengths ---------------------------------------------------------------------------------

def test_bone_stretched_by_ten_percent():
    j = standing(20)
    wrist, elbow = JOINT_INDEX["l_wrist"], JOINT_INDEX["l_elbow"]    # the wrist is a leaf: one bone moves
    bone = BONES.index((elbow, wrist))
    j[:5, wrist] = j[:5, elbow] + 1.10 * (j[:5, wrist] - j[:5, elbow])   # 10% longer in frames 0..4
    dev = bone_length_deviation(j)
    assert dev[:5, bone] == pytest.approx(np.full(5, 0.10))
    assert np.count_nonzero(dev > 1e-12) == 5                         # nothing else changed
    # mean over 20 frames x 21 bones: 5 * 0.10 / 420
    assert bone_length_error(j) == pytest.approx(0.5 / (20 * len(BONES)))
    assert bone_length_error(standing(20)) == 0.0


def test_bone_length_error_against_given_reference():
    j = standing(4)
    ref = bone_lengths(j)[0] / 1.25                   # every bone 25% longer than the reference
    assert bone_length_error(j, ref) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        bone_length_error(j, ref[:3])


def test_report_has_plain_floats():
    report = physical_report(standing())
    assert set(report) == {"skating_ratio", "penetration_max_m", "penetration_mean_m", "jitter_ms2",
                           "bone_length_error"}
    assert all(type(v) is float for v in report.values())


# ---- real mocap -----------------------------------------------------------------------------------

def _bvh_samples():
    return sorted(SAMPLES.glob("*.bvh")) if SAMPLES.is_dir() else []


@pytest.mark.skipif(not _bvh_samples(), reason=f"no BVH samples in {SAMPLES}")
def test_real_mocap_is_physically_plausible():
    from engine.motion_io import load_motion

    for path in _bvh_samples():
        joints = load_motion(path).joints
        report = physical_report(joints)
        print(path.name, {k: round(v, 5) for k, v in report.items()})
        # GMD's definition also counts a swinging toe that passes within 5 cm of the floor faster than
        # 0.5 m/s, so real walking is not at 0; it must stay well below half of the steps.
        assert report["skating_ratio"] < 0.35, path.name
        # canonicalize() puts the lowest joint of the clip at y = 0, so this can only fail when the
        # reader breaks that invariant.
        assert report["penetration_max_m"] <= 0.02, path.name
        assert report["bone_length_error"] < 0.01, path.name
        # and the metric does see skating on real motion: the same clip walked on the spot (root
        # translation removed) drags the stance foot backwards at walking speed.
        travel = np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]])
        if travel > 1.0:
            on_the_spot = joints - joints[:, :1] * np.array([1.0, 0.0, 1.0])
            skating = foot_skating_ratio(on_the_spot)
            print(f"  on the spot: skating ratio {skating:.3f}")
            assert skating > report["skating_ratio"] + 0.3, path.name
