"""Each primitive does what its caption says, with left and right anatomically exact, over many seeds."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.procedural import PRIMITIVES, generate_clip
from engine.motion import facing_angle
from engine.skeleton import FOOT_JOINTS, FPS, JOINT_INDEX

J = JOINT_INDEX


@pytest.fixture(scope="module")
def singles():
    """primitive -> list of (joints, part label) for one-primitive clips over two seeds."""
    out: dict[str, list] = {name: [] for name in PRIMITIVES}
    for seed in (0, 3):
        for i in range(500):
            c = generate_clip(i, seed)
            if len(c.label["parts"]) == 1:
                out[c.label["primitives"][0]].append((c.motion.joints, c.label["parts"][0]))
    return out


def _each(singles, name, minimum=5):
    assert len(singles[name]) >= minimum, f"too few {name} clips to test"
    return singles[name]


def test_every_primitive_is_generated(singles):
    assert len(PRIMITIVES) >= 20
    for name in PRIMITIVES:
        _each(singles, name)


def test_walk_forward_goes_to_plus_z_and_backwards_to_minus_z(singles):
    for j, part in _each(singles, "walk"):
        if part["direction"] == "forward":
            assert j[-1, 0, 2] > 0.25 * len(j) / 20 and abs(j[-1, 0, 0]) < 0.5 * j[-1, 0, 2]
    for j, _ in _each(singles, "walk_backwards"):
        assert j[-1, 0, 2] < -0.5 and abs(j[-1, 0, 0]) < 0.5 * abs(j[-1, 0, 2])


def test_diagonal_and_circle_directions(singles):
    for name in ("walk", "jog", "run"):
        for j, part in singles[name]:
            d, end = part["direction"], j[-1, 0]
            if d == "diagonal_left":
                assert end[0] > 0.5 and end[2] > 0.5
            if d == "diagonal_right":
                assert end[0] < -0.5 and end[2] > 0.5
            if d.startswith("circle"):  # a full circle ends near the start, having gone to the named side
                side_x = j[:, 0, 0].max() if d.endswith("left") else -j[:, 0, 0].min()
                assert side_x > 0.3 and np.linalg.norm(end[[0, 2]]) < 0.6 * side_x


def test_run_is_faster_than_jog_faster_than_walk(singles):
    def speed(name):
        return np.median([np.linalg.norm(np.diff(j[:, 0, [0, 2]], axis=0), axis=1).mean() for j, _ in singles[name]])
    assert speed("run") > speed("jog") > speed("walk")


def test_a_slow_run_is_still_faster_than_a_fast_jog(singles):
    """The speed and amplitude words move a jog and a run within their own bands of pace (locomotion.Gait), so
    the words "jog" and "run" each name a motion of their own: "runs slowly" is not a jog, whatever the body's
    size, the clip's jitter or its path (a circle, a diagonal)."""
    def speeds(name):   # ground speed over the middle half, m/s
        return [np.linalg.norm(np.diff(j[len(j) // 4: 3 * len(j) // 4, 0, [0, 2]], axis=0), axis=1).mean() * FPS
                for j, _ in _each(singles, name)]
    assert min(speeds("run")) > 1.1 * max(speeds("jog"))


def test_turns_end_facing_the_named_side(singles):
    for j, part in _each(singles, "turn_left"):
        assert facing_angle(j[-1]) > 0.8  # toward +X, the body's left
    for j, part in _each(singles, "turn_right"):
        assert facing_angle(j[-1]) < -0.8


def test_side_steps_go_to_the_named_side(singles):
    for j, _ in _each(singles, "side_step_left"):
        assert j[-1, 0, 0] > 0.15 and abs(j[-1, 0, 2]) < 0.15
    for j, _ in _each(singles, "side_step_right"):
        assert j[-1, 0, 0] < -0.15


def test_jumps_leave_the_floor_and_jump_forward_travels(singles):
    for name in ("jump_in_place", "jump_forward", "jumping_jacks"):
        for j, part in _each(singles, name):
            assert j[:, list(FOOT_JOINTS), 1].min(1).max() > 0.04, name
    for j, part in singles["jump_forward"]:
        assert j[-1, 0, 2] > 0.3 * part["reps"]
    for j, part in singles["jump_in_place"]:
        assert np.abs(j[-1, 0, [0, 2]]).max() < 0.1 + 0.1 * part["reps"]  # lands about where it took off


def test_squats_and_sitting_lower_the_pelvis(singles):
    for name, drop in (("squat", 0.2), ("sit_down_stand_up", 0.3)):
        for j, part in _each(singles, name):
            need = drop / 2 if part["amplitude"] == "slight" else drop
            assert j[0, 0, 1] - j[:, 0, 1].min() > need, name
            assert abs(j[-1, 0, 1] - j[0, 0, 1]) < 0.03  # and come back up


def test_waves_oscillate_the_named_wrist_above_its_shoulder(singles):
    for name, wrists in (("wave_left", ("l",)), ("wave_right", ("r",)), ("wave_both", ("l", "r"))):
        for j, _ in _each(singles, name):
            for s in ("l", "r"):
                above = j[:, J[s + "_wrist"], 1] > j[:, J[s + "_shoulder"], 1] + 0.1
                if s in wrists:
                    assert above.mean() > 0.4
                    x = j[above, J[s + "_wrist"], 0] - j[above, J[s + "_shoulder"], 0]
                    crossings = np.count_nonzero(np.diff(np.sign(x - x.mean())))
                    assert x.std() > 0.03 and crossings >= 2, name
                else:
                    assert not above.any(), name


def test_raise_left_raises_joint_20_over_the_head_and_not_21(singles):
    for name, up in (("raise_left", (20,)), ("raise_right", (21,)), ("raise_both", (20, 21))):
        for j, part in _each(singles, name):
            for w in (20, 21):
                over_head = (j[:, w, 1] > j[:, J["head"], 1]).any()
                if w in up and part["amplitude"] != "slight":
                    assert over_head, name
                if w not in up:
                    assert (j[:, w, 1] < j[:, w - 4, 1]).all(), name  # the other wrist stays below its shoulder
            if part["amplitude"] == "slight":
                assert (j[:, up[0], 1] > j[0, up[0], 1] + 0.3).any()


def test_kicks_lift_the_named_foot_and_punches_extend_the_named_hand(singles):
    for name, foot, other in (("kick_left", J["l_foot"], J["r_foot"]), ("kick_right", J["r_foot"], J["l_foot"])):
        for j, part in _each(singles, name):
            assert j[:, foot, 1].max() > (0.15 if part["amplitude"] == "slight" else 0.45), name
            assert j[:, other, 1].max() < 0.05, name  # the standing foot stays down
    for name, hand, other in (("punch_left", 20, 21), ("punch_right", 21, 20)):
        for j, _ in _each(singles, name):
            reach = j[:, hand, 2] - j[:, 0, 2]
            assert reach.max() > 0.4 and reach.max() > (j[:, other, 2] - j[:, 0, 2]).max() + 0.1, name


def test_claps_bring_the_hands_together_the_said_number_of_times(singles):
    for j, part in _each(singles, "clap"):
        gap = np.linalg.norm(j[:, 20] - j[:, 21], axis=1)
        together = gap < 0.1
        assert np.count_nonzero(together[1:] & ~together[:-1]) == part["reps"]
        assert gap[together.argmax():].max() > 0.2


def test_look_around_turns_the_head_to_the_named_side_first(singles):
    for j, part in _each(singles, "look_around"):
        nose = j[:, J["head"], 0] - j[:, J["neck"], 0]  # the head joint sits forward of the neck
        first_big = np.nonzero(np.abs(nose) > 0.008)[0][0]
        assert np.sign(nose[first_big]) == (1 if part["first"] == "left" else -1)


def test_bow_bends_the_trunk_forward(singles):
    for j, part in _each(singles, "bow"):
        lean = j[:, J["neck"], 2] - j[:, 0, 2]
        assert lean.max() > (0.1 if part["amplitude"] == "slight" else 0.25)
