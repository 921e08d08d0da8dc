"""The whole real Bandai archive: every take converts and is a plausible, correctly-sided human.

The first run converts the 2,902 takes into the cache (~20 s on 2 cores); later runs read it.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from engine.data import open_dataset
from engine.data.captions import parse_content
from engine.skeleton import FOOT_JOINTS, JOINT_INDEX

ARCHIVE = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bandai"
           / "bandai-namco-dataset-2-bvh.tar.xz")
HEAD, L_WRIST, R_WRIST = JOINT_INDEX["head"], JOINT_INDEX["l_wrist"], JOINT_INDEX["r_wrist"]


@pytest.fixture(scope="module")
def dataset():
    if not ARCHIVE.is_file():
        pytest.skip(f"the Bandai archive is not at {ARCHIVE} (real data lives beside the repository)")
    return open_dataset(f"bandai:{ARCHIVE}")


def test_held_out_contents_keep_only_their_test_takes(dataset):
    from engine.errors import SpecError

    held = open_dataset(f"bandai:{ARCHIVE}?hold_out=run+wave-left-hand")
    kept = {c.id: c for c in held.clips}
    for clip in dataset.clips:
        gone = clip.label["content"] in ("run", "wave-left-hand") and clip.split != "test"
        assert (clip.id not in kept) == gone
        if not gone:
            assert kept[clip.id].split == clip.split and kept[clip.id].captions == clip.captions
    assert held.fingerprint() != dataset.fingerprint()
    with pytest.raises(SpecError, match="hold_out names no content.*jump"):
        open_dataset(f"bandai:{ARCHIVE}?hold_out=jump")


@pytest.fixture(scope="module")
def motions(dataset):
    return {clip.id: dataset.motion(clip.id) for clip in dataset.clips}


def test_every_take_converts_with_labels_and_splits(dataset):
    assert len(dataset) == 2902 and dataset.failed == {}
    assert sum(c.frames for c in dataset.clips) > 250_000
    contents = Counter(c.label["content"] for c in dataset.clips)
    assert len(contents) == 10 and len({c.label["style"] for c in dataset.clips}) == 7
    for content in contents:   # stratified: every content label in every split
        assert {c.split for c in dataset.clips if c.label["content"] == content} == {"train", "val", "test"}
    splits = Counter(c.split for c in dataset.clips)
    assert 0.75 < splits["train"] / len(dataset) < 0.85 and splits["val"] > 200 and splits["test"] > 200
    for clip in dataset.clips:
        assert (clip.label["action"], clip.label["side"]) == parse_content(clip.label["content"])
        assert len(clip.captions) >= 3


def test_bodies_are_human_sized_rigid_and_on_the_floor(motions):
    for take, motion in motions.items():
        joints = motion.joints
        assert 1.4 <= motion.height_m <= 2.0, take   # stature from bone lengths
        bones = motion.bone_lengths()
        assert (bones.std(axis=0) / bones.mean(axis=0)).max() < 0.02, take   # bone-length variation
        feet = joints[:, list(FOOT_JOINTS), 1]
        assert joints[..., 1].min() == pytest.approx(feet.min(), abs=1e-6), take   # a foot is lowest
        assert np.median(feet.min(axis=1)) < 0.08, take   # and mostly on the floor


@pytest.mark.parametrize("side", ["left", "right"])
def test_raised_hand_is_the_labelled_one(dataset, motions, side):
    raised, other = (L_WRIST, R_WRIST) if side == "left" else (R_WRIST, L_WRIST)
    takes = [c.id for c in dataset.clips if c.label["content"] == f"raise-up-{side}-hand"]
    above = 0
    for take in takes:
        joints = motions[take].joints
        peak = (joints[:, raised, 1] - joints[:, HEAD, 1]).max()
        assert (joints[:, other, 1] < joints[:, HEAD, 1]).all(), take   # the other hand stays down
        assert peak - (joints[:, other, 1] - joints[:, HEAD, 1]).max() > 0.2, take
        above += peak > 0
    assert above / len(takes) > 0.75   # most takes lift the hand over the head (elderly ones may not)
    if side == "left":
        joints = motions["raise-up-left-hand_elderly_003"].joints
        assert joints[:, L_WRIST, 1].max() > joints[:, HEAD, 1].max()
