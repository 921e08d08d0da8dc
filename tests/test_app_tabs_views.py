"""View builders of the model tabs: word clouds, term bars, PCA heatmap, heat-coloured skeleton, loss curves,
and the pure formatting helpers of the tabs (no server, no model: real numbers in, figures out)."""
import numpy as np
import pytest

from app.audit_tab import disagreement_rows, summary_markdown
from app.heatmap_view import BODY_ORDER, expand_patches, pca_heatmap
from app.feedback import hit_rows, words_text
from app.training_tab import loss_figure, parse_overrides, status_markdown
from app.viewer import DYNAMIC_TRACES, HEAT_MARKER_SIZE, skeleton_figure
from app.wordcloud_view import side_by_side_bars, term_bars, word_cloud
from engine.render import HEAT_RAMP, SIDE_COLOURS, heat_colours
from engine.skeleton import JOINT_INDEX, JOINT_NAMES



def walking(frames: int) -> np.ndarray:
    """A made body: fixed joint offsets around 1 m height, gliding 2 m forward (+Z)."""
    pose = np.random.default_rng(1).uniform([-0.25, 0.0, -0.1], [0.25, 1.7, 0.1], size=(22, 3))
    joints = np.repeat(pose[None], frames, axis=0)
    joints[:, :, 2] += np.linspace(0, 2, frames)[:, None]
    return joints.astype(np.float32)


def test_word_cloud_is_an_image_of_the_asked_size_with_ink():
    img = word_cloud({"left": 2.0, "raise": 1.2, "arm": 0.8, "slowly": 0.3}, size=(400, 240))
    assert img.size == (400, 240) and img.mode == "RGB"
    pixels = np.asarray(img)
    assert (pixels < 200).any(axis=-1).mean() > 0.01          # words were drawn on the white card
    assert (pixels == 255).all(axis=-1).mean() > 0.3          # ... and the background is white


def test_word_cloud_of_nothing_is_a_plain_card():
    img = word_cloud({"zero": 0.0}, size=(300, 200), empty_text="no words")
    assert img.size == (300, 200)
    assert (np.asarray(img) == 255).all(axis=-1).mean() > 0.95


def test_term_bars_put_the_heaviest_word_on_top():
    fig = term_bars([("left", 0.9), ("raise", 0.5), ("arm", 0.1)], "query")
    bar = fig.data[0]
    assert bar.orientation == "h" and list(bar.y) == ["arm", "raise", "left"] and list(bar.x) == [0.1, 0.5, 0.9]


def test_side_by_side_bars_have_two_panels():
    fig = side_by_side_bars([["walk", 40.0]], [["left", 30.0], ["arm", 5.0]], "captions", "motions", "%")
    assert len(fig.data) == 2 and list(fig.data[1].y) == ["arm", "left"]
    assert [a.text for a in fig.layout.annotations] == ["captions", "motions"]


def test_expand_patches_repeats_and_fits_the_motion_length():
    patches = np.arange(3 * 22, dtype=np.float32).reshape(3, 22) / 100
    frames = expand_patches(patches, frames_per_patch=4, frames=10)
    assert frames.shape == (10, 22)
    np.testing.assert_array_equal(frames[0:4], np.repeat(patches[:1], 4, axis=0))
    np.testing.assert_array_equal(frames[8:10], np.repeat(patches[2:3], 2, axis=0))
    longer = expand_patches(patches, frames_per_patch=4, frames=14)   # a partial last patch: repeated
    np.testing.assert_array_equal(longer[12:], np.repeat(patches[2:3], 2, axis=0))


def test_heatmap_has_joint_names_and_seconds():
    rng = np.random.default_rng(0)
    intensity = rng.random((7, 22)).astype(np.float32)
    fig = pca_heatmap(intensity, frames_per_patch=4, fps=20, component=2, explained=0.31)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (22, 7)
    assert list(heat.y) == list(BODY_ORDER) and set(heat.y) == set(JOINT_NAMES)
    np.testing.assert_allclose(heat.x, (np.arange(7) + 0.5) * 4 / 20, atol=1e-3)   # patch centres in seconds
    row = list(heat.y).index("l_wrist")
    np.testing.assert_allclose(np.asarray(heat.z)[row], intensity[:, JOINT_INDEX["l_wrist"]], atol=1e-3)
    assert fig.layout.xaxis.title.text == "time (s)" and "component 2" in fig.layout.title.text
    assert "31%" in fig.layout.title.text
    with pytest.raises(ValueError):
        pca_heatmap(np.zeros((3, 21)), 4)


def test_viewer_colours_joints_by_intensity_per_frame():
    joints = walking(30)
    intensity = np.zeros((30, 22))
    intensity[:, JOINT_INDEX["l_wrist"]] = np.linspace(0, 1, 30)
    fig = skeleton_figure(joints, 20, "heat", joint_intensity=intensity)
    marker = fig.data[3].marker
    assert marker.size == HEAT_MARKER_SIZE and list(marker.color) == heat_colours(intensity[0], 0.0, 1.0)
    last = fig.frames[-1].data[DYNAMIC_TRACES.index(3)]
    assert last.marker.color[JOINT_INDEX["l_wrist"]] == HEAT_RAMP[-1]       # full intensity: darkest
    assert last.marker.color[JOINT_INDEX["r_wrist"]] == HEAT_RAMP[0]        # zero: palest
    assert "dark red = high" in fig.layout.annotations[0].text
    plain = skeleton_figure(joints, 20, "plain")                             # without: side colours
    assert plain.data[3].marker.color[JOINT_INDEX["l_wrist"]] == SIDE_COLOURS["left"]
    with pytest.raises(ValueError):
        skeleton_figure(joints, 20, joint_intensity=np.zeros((29, 22)))


def test_search_rows_and_explanations():
    hits = [{"id": "a", "score": 3.14159, "caption": "waves", "terms": [("wave", 2.0), ("hand", 1.14159)]}]
    assert hit_rows(hits) == [[1, "a", 3.142, "waves", "wave (2.00), hand (1.14)"]]
    assert words_text([("left", 0.8), ("raise", 0.6)]) == "left (0.80), raise (0.60)"


def test_audit_summary_and_rows():
    report = {"clips": 2, "dataset": "synthetic?n=2",
              "sides": {"captions": {"left": 3}, "motions_left_over_right": 1, "motions_right_over_left": 0},
              "caption_style": {"subject_forms": {"a person": 2}, "dominant_form": "a person", "inconsistent_share": 0.0,
                                "capitalised_share": 50.0, "ends_with_period_share": 100.0},
              "disagreements": [{"id": "c1", "caption": "a person <b>jumps</b>", "score": 0.9,
                                 "motion_only": [("kick", 1.5)], "caption_only": [("jumps", 0.7)]}]}
    text = summary_markdown(report)
    assert "*left* 3×" in text and "*right* 0×" in text and "capitalised: 50%" in text
    assert disagreement_rows(report) == [[1, "c1", 0.9, "a person <b>jumps</b>", "kick (1.50)", "jumps (0.70)"]]


def test_loss_figure_one_panel_per_phase_one_line_per_term():
    records = [{"step": s, "phase": p, "loss": 1.0 / s, "recon": 0.5 / s, "lr": {"motion": 1e-4}, "time": 0.0,
                "seconds_per_step": 0.1} for p in ("cmmm", "lexmmm") for s in (1, 2, 3)]
    fig = loss_figure(records)
    assert [a.text for a in fig.layout.annotations] == ["cmmm", "lexmmm"]
    assert [(t.name, t.xaxis) for t in fig.data] == [("loss", "x"), ("recon", "x"), ("loss", "x2"), ("recon", "x2")]
    assert [t.showlegend for t in fig.data] == [True, True, False, False]   # each term listed once
    assert list(fig.data[0].y) == [1.0, 0.5, 1.0 / 3] and fig.layout.yaxis.type == "log"
    assert "no metrics" in loss_figure([]).layout.annotations[0].text


def test_training_status_and_overrides_text():
    assert parse_overrides("--set train.cmmm.steps=2\nmodel.motion_depth=1  ") == ["train.cmmm.steps=2",
                                                                                   "model.motion_depth=1"]
    text = status_markdown({"state": "finished", "phase": "cmmm", "step": 2, "total_steps": 2,
                            "last_metrics": {"loss": 1.25}, "seconds": 12.0, "exit_code": 0, "out_dir": "/r"})
    assert text.startswith("**done**") and "step 2/2" in text and "last loss 1.25" in text
    assert "No training run" in status_markdown({"state": "idle"})
