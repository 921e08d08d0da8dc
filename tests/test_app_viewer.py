"""skeleton_figure: frames, traces, side colours, axis mapping (no mirroring), subsampling."""
import numpy as np
import pytest

from app.viewer import DYNAMIC_TRACES, MAX_ANIMATION_FRAMES, for_browser, front_eye, skeleton_figure, to_plotly
from engine.render import SIDE_COLOURS, facing_direction, heat_colours
from engine.skeleton import JOINT_INDEX, LEFT_JOINTS, RIGHT_JOINTS

# A standing pose in the canonical convention: Y up, facing +Z, the body's left on +X.
STAND = np.array([
    (0, .95, 0), (.09, .88, 0), (-.09, .88, 0), (0, 1.05, 0), (.1, .5, 0), (-.1, .5, 0), (0, 1.18, 0),
    (.1, .08, 0), (-.1, .08, 0), (0, 1.25, 0), (.1, .02, .12), (-.1, .02, .12), (0, 1.45, 0),
    (.07, 1.38, 0), (-.07, 1.38, 0), (0, 1.6, .03), (.18, 1.4, 0), (-.18, 1.4, 0), (.2, 1.12, 0),
    (-.2, 1.12, 0), (.22, .88, .03), (-.22, .88, .03)], dtype=np.float32)


def walking(frames: int) -> np.ndarray:
    """The standing pose gliding 2 m forward (+Z) while the left wrist rises."""
    joints = np.repeat(STAND[None], frames, axis=0).copy()
    joints[:, :, 2] += np.linspace(0, 2, frames)[:, None]
    joints[:, JOINT_INDEX["l_wrist"], 1] += np.linspace(0, 0.8, frames)
    return joints


def test_traces_and_frames_for_a_short_clip():
    fig = skeleton_figure(walking(40), fps=20, title="walk")
    assert [t.type for t in fig.data] == ["scatter3d"] * 6   # 3 bone groups, joints, floor, root path
    assert len(fig.frames) == 40
    assert list(fig.frames[0].traces) == DYNAMIC_TRACES
    assert [t.name for t in fig.data[:3]] == ["left side", "right side", "spine / head"]
    assert fig.data[0].line.color == SIDE_COLOURS["left"] != fig.data[1].line.color == SIDE_COLOURS["right"]
    colours = fig.data[3].marker.color
    assert {colours[j] for j in LEFT_JOINTS} == {SIDE_COLOURS["left"]}
    assert {colours[j] for j in RIGHT_JOINTS} == {SIDE_COLOURS["right"]}
    assert "2.0 s" in fig.layout.annotations[0].text and "20 fps" in fig.layout.annotations[0].text
    assert len(fig.layout.sliders[0].steps) == 40
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]


def test_long_clips_are_strided_and_say_so():
    fig = skeleton_figure(walking(400), fps=20)
    assert len(fig.frames) <= MAX_ANIMATION_FRAMES and len(fig.frames) == 134
    assert "one frame in 3" in fig.layout.annotations[0].text
    assert fig.layout.updatemenus[0].buttons[0].args[1]["frame"]["duration"] == pytest.approx(150.0)


def test_axis_mapping_is_upright_and_not_mirrored():
    mapping = np.stack([to_plotly(e) for e in np.eye(3)])
    assert np.linalg.det(mapping) == pytest.approx(1.0)       # a rotation, not a reflection
    fig = skeleton_figure(STAND[None], fps=20)
    joints = fig.data[3]
    head, l_ankle = JOINT_INDEX["head"], JOINT_INDEX["l_ankle"]
    assert joints.z[head] == pytest.approx(1.6) and joints.z[l_ankle] == pytest.approx(0.08)  # height is plotly z
    # Seen from the camera, which is in front of the body, its left hand is on screen right.
    eye = np.array([fig.layout.scene.camera.eye[k] for k in "xyz"])
    view = -eye / np.linalg.norm(eye)
    screen_right = np.cross(view, [0, 0, 1])
    l_wrist = np.array([joints.x[JOINT_INDEX["l_wrist"]], joints.y[JOINT_INDEX["l_wrist"]]])
    r_wrist = np.array([joints.x[JOINT_INDEX["r_wrist"]], joints.y[JOINT_INDEX["r_wrist"]]])
    assert (l_wrist - r_wrist) @ screen_right[:2] > 0
    assert eye[1] > 0     # in front: the body faces canonical +Z, which is plotly +y


def test_camera_follows_a_turned_body():
    turned = STAND * np.array([-1, 1, -1], dtype=np.float32)      # rotated 180 degrees about Y
    assert facing_direction(turned) == pytest.approx([0.0, -1.0])
    assert front_eye(turned)["y"] < 0 < front_eye(STAND)["y"]


def test_floor_spans_the_motion_and_equal_aspect():
    fig = skeleton_figure(walking(60))
    scene = fig.layout.scene
    assert scene.yaxis.range[0] <= 0 and scene.yaxis.range[1] >= 2.0    # the 2 m walk is on the floor
    spans = [scene.xaxis.range[1] - scene.xaxis.range[0], scene.yaxis.range[1] - scene.yaxis.range[0],
             scene.zaxis.range[1]]
    ratio = [scene.aspectratio[k] for k in "xyz"]
    assert np.allclose(np.array(ratio) / max(ratio), np.array(spans) / max(spans), atol=1e-3)
    floor = fig.data[4]
    assert {z for z in floor.z if z is not None} == {0.0}


def test_for_browser_moves_frames_into_layout_meta():
    fig = for_browser(skeleton_figure(walking(10)))
    assert not fig.frames and len(fig.layout.meta["motionlex_frames"]) == 10
    assert fig.layout.meta["motionlex_id"] != for_browser(skeleton_figure(walking(10))).layout.meta["motionlex_id"]


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match="expected joints"):
        skeleton_figure(np.zeros((5, 21, 3)))


def test_heat_colours_ramp():
    cols = heat_colours(np.array([0.0, 0.5, 1.0]))
    assert cols[0] == "#fff5eb" and cols[-1] == "#a63603" and len(set(cols)) == 3
    assert heat_colours(np.ones(4)) == ["#fff5eb"] * 4
