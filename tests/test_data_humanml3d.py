"""HumanML3D / KIT-ML folders: clip list, sub-clip crops, split lists, lazy cached motions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data import open_dataset
from engine.errors import SpecError
from engine.skeleton import FPS, JOINT_INDEX

# A standing adult in canonical order (metres, Y up, facing +Z, left = +X).
STANDING = np.array([
    (0, .93, 0), (.06, .84, 0), (-.06, .84, 0), (0, 1.03, 0), (.1, .47, 0), (-.1, .47, 0), (0, 1.16, 0),
    (.09, .07, -.03), (-.09, .07, -.03), (0, 1.22, 0), (.11, .02, .1), (-.11, .02, .1), (0, 1.44, 0),
    (.08, 1.37, 0), (-.08, 1.37, 0), (0, 1.6, .03), (.18, 1.4, 0), (-.18, 1.4, 0), (.43, 1.4, 0),
    (-.43, 1.4, 0), (.68, 1.4, 0), (-.68, 1.4, 0)], dtype=np.float32)


def walking(frames: int, speed: float = 1.0) -> np.ndarray:
    """The standing pose sliding forward (+Z) at `speed` m/s at 20 fps."""
    joints = np.repeat(STANDING[None], frames, axis=0).copy()
    joints[..., 2] += (np.arange(frames) / FPS * speed)[:, None]
    return joints


def make_humanml3d_folder(root: Path) -> Path:
    """Three motions; one caption file has a 1-3 s sub-range caption; a split list per split."""
    (root / "new_joints").mkdir(parents=True)
    (root / "texts").mkdir()
    for item_id, frames in (("000001", 100), ("000002", 60), ("000003", 80)):
        np.save(root / "new_joints" / f"{item_id}.npy", walking(frames))
    (root / "texts" / "000001.txt").write_text(
        "a person walks forward#a/DET person/NOUN#0.0#0.0\n"
        "someone walks slowly ahead#x#0.0#0.0\n"
        "the person takes two steps#x#1.0#3.0\n")
    (root / "texts" / "000002.txt").write_text("a person walks to the left#x#0.0#0.0\n")
    (root / "texts" / "000003.txt").write_text("a man raises his right hand#x#0.0#0.0\n")
    (root / "train.txt").write_text("000001\n000002\n")
    (root / "val.txt").write_text("000003\n")
    (root / "test.txt").write_text("")
    return root


def test_humanml3d_clips_subclips_and_splits(tmp_path):
    dataset = open_dataset(f"humanml3d:{make_humanml3d_folder(tmp_path / 'h3d')}")
    by_id = {c.id: c for c in dataset.clips}
    assert set(by_id) == {"000001", "000001@1-3", "000002", "000003"}
    assert by_id["000001"].captions == ["a person walks forward", "someone walks slowly ahead"]
    assert by_id["000001"].frames == 100 and by_id["000001"].duration_s == 5.0
    sub = by_id["000001@1-3"]
    assert sub.captions == ["the person takes two steps"] and sub.split == "train"
    assert [c.id for c in dataset.split("val")] == ["000003"] and dataset.split("test") == []

    whole, cropped = dataset.motion("000001"), dataset.motion("000001@1-3")
    assert whole.joints.shape == (100, 22, 3)
    assert cropped.frames == sub.frames == 40
    # The crop is re-canonicalised: it starts at the origin and walks 39 frames at 1 m/s along +Z.
    assert np.allclose(cropped.joints[0, 0, [0, 2]], 0, atol=1e-5)
    assert cropped.joints[-1, 0, 2] == pytest.approx(39 / FPS, abs=1e-3)
    assert cropped.joints[0, JOINT_INDEX["l_hip"], 0] > 0   # left stays +X
    assert dataset.motion("000001") is whole   # served from the LRU cache

    assert [c.id for c in dataset.search_captions("WALKS slowly")] == ["000001"]
    assert {c.id for c in dataset.search_captions(["walks"])} == {"000001", "000002"}
    assert dataset.search_captions("walks hand") == []


def test_fingerprint_is_stable_and_changes_with_captions(tmp_path):
    root = make_humanml3d_folder(tmp_path / "h3d")
    first = open_dataset(f"humanml3d:{root}").fingerprint()
    assert open_dataset(f"humanml3d:{root}").fingerprint() == first
    (root / "texts" / "000002.txt").write_text("a person walks to the right#x#0.0#0.0\n")
    assert open_dataset(f"humanml3d:{root}").fingerprint() != first


def test_fingerprint_is_kept_until_the_clip_list_grows(tmp_path):
    from dataclasses import replace
    dataset = open_dataset(f"humanml3d:{make_humanml3d_folder(tmp_path / 'h3d')}")
    first = dataset.fingerprint()
    assert dataset.fingerprint() == first and dataset._fingerprint == (len(dataset.clips), first)
    dataset.clips.append(replace(dataset.clips[0], id="extra"))   # as a constructor appending clips
    assert dataset.fingerprint() != first


def test_kitml_21_joints_in_millimetres_at_12_5_fps(tmp_path):
    root = tmp_path / "kit"
    (root / "new_joints").mkdir(parents=True)
    (root / "texts").mkdir()
    from engine.motion_io.npy_read import KIT_NAMES, KIT_TO_CANONICAL
    # Each KIT joint at the canonical joint it feeds alone (weight 1), in millimetres.
    single = {next(iter(m)): JOINT_INDEX[c] for c, m in KIT_TO_CANONICAL.items() if len(m) == 1}
    pose = np.stack([STANDING[single[name]] if name in single else STANDING[JOINT_INDEX["spine2"]]
                     for name in KIT_NAMES]) * 1000.0
    np.save(root / "new_joints" / "00001.npy", np.repeat(pose[None], 25, axis=0))   # 2 s at 12.5 fps
    (root / "texts" / "00001.txt").write_text("a person stands still#x#0.0#0.0\n")
    dataset = open_dataset(f"kitml:{root}")
    clip = dataset.clips[0]
    motion = dataset.motion(clip.id)
    assert clip.frames == motion.frames == 39   # 24 intervals of 80 ms -> 1.92 s at 20 fps
    assert 1.5 < motion.height_m < 2.0   # millimetres recognised
    assert clip.split in ("train", "val", "test")   # no split lists: hash splits


def test_missing_folders_are_spec_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="new_joints"):
        open_dataset(f"humanml3d:{tmp_path / 'empty'}")
