"""Library tab handlers called as plain functions with real inputs: the shipped procedural library, real
files written here, and bad uploads (a truncated BVH, a NaN .npy, a wrong type, an empty file)."""
import numpy as np
import pytest

from app.feedback import is_error
from app.library_tab import list_clips, open_file, selected_id, show_clip, similar_to_shown


def test_list_filter_and_empty(engine):
    rows, note = list_clips(engine, "synthetic", "", "all")
    assert len(rows) == 200 and rows[0][0].startswith("synth_") and "200+ clips shown" in note
    rows, note = list_clips(engine, "synthetic", "walk", "test")
    assert rows and all(r[3] == "test" for r in rows) and "matching" in note   # any of a clip's captions matches
    assert sum("walk" in r[1].lower() for r in rows) > len(rows) / 2
    rows, note = list_clips(engine, "synthetic", "zzqqxx", "all")
    assert rows == [] and note.startswith("No clip matches")


def test_bad_spec_is_one_message_and_the_table_is_cleared(engine):
    rows, note = list_clips(engine, "bvh:/no/such/folder", "", "all")
    assert rows == [] and is_error(note) and "does not exist" in note and note.count("ml-error") == 1


def test_show_clip(engine):
    clip_id = list_clips(engine, "synthetic", "", "all")[0][0][0]
    figure, details = show_clip(engine, "synthetic", clip_id)
    assert figure.layout.meta["motionlex_frames"] and clip_id in figure.layout.title.text
    assert "**Captions**" in details and "&amp;" not in details
    _, message = show_clip(engine, "synthetic", "no-such-clip")
    assert is_error(message)


def test_open_a_made_npy(engine, tmp_path):
    path = tmp_path / "made take & more.npy"
    np.save(path, (np.random.default_rng(0).normal(size=(40, 22, 3)) * 0.1 + [0, 1, 0]).astype(np.float32))
    figure, report, details = open_file(engine, str(path))
    assert "made take & more.npy" in figure.layout.title.text
    assert "40 frames" in report and "made take & more.npy" in details and "&amp;" not in details


@pytest.mark.parametrize("name,content,expect", [
    ("broken.bvh", "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n", "broken.bvh"),
    ("empty.bvh", "", "empty.bvh"),
    ("notes.txt", "hello", "unsupported file type"),
])
def test_bad_uploads_name_the_file_once_and_clear_the_view(engine, tmp_path, name, content, expect):
    upload = tmp_path / "3f9c0a7d1e" / name          # as Gradio stores uploads: a hashed temp folder
    upload.parent.mkdir()
    upload.write_text(content)
    figure, message, details = open_file(engine, str(upload))
    assert figure is None and details == ""          # the previous motion is not left on show
    assert is_error(message) and expect in message and message.count("ml-error") == 1
    assert str(upload.parent) not in message and "3f9c0a7d1e" not in message   # the user's name, not the temp path
    assert "Traceback" not in message


def test_nan_npy_is_refused(engine, tmp_path):
    path = tmp_path / "nan.npy"
    joints = np.zeros((10, 22, 3), dtype=np.float32)
    joints[3, 4, 1] = np.nan
    np.save(path, joints)
    _, message, _ = open_file(engine, str(path))
    assert is_error(message) and "nan.npy" in message


def test_selected_id_reads_the_first_column():
    class Event:
        row_value = ["synth_000007", "a caption", 3.2, "train"]
    assert selected_id(Event()) == "synth_000007"
    assert selected_id(object()) == ""


def test_find_similar_from_a_clip_and_from_a_file(engine, tmp_path):
    clip_id = list_clips(engine, "synthetic", "wave", "all")[0][0][0]
    rows, note, hits = similar_to_shown(engine, "synthetic", {"spec": "synthetic", "clip": clip_id})
    assert len(rows) == len(hits) == 8 and clip_id not in [h["id"] for h in hits]     # not itself
    assert [r[0] for r in rows] == list(range(1, 9)) and rows[0][2] >= rows[-1][2]
    assert "nearest to" in note and clip_id in note
    assert sum("wave" in h["caption"].lower() for h in hits) >= 6                   # like it: waves
    path = tmp_path / "same wave.npy"
    np.save(path, engine.clip("synthetic", clip_id).joints)
    rows, note, hits = similar_to_shown(engine, "synthetic", {"file": str(path), "mapping": None})
    assert hits[0]["id"] == clip_id and hits[0]["score"] > 0.99 and "same wave.npy" in note   # a file keeps it
    rows, note, hits = similar_to_shown(engine, "synthetic", None)
    assert rows == [] and hits == [] and is_error(note) and "select a clip" in note
