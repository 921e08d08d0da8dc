"""Real data: the six Bandai-Namco sample takes and the HumanML3D sample clip in both formats."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.motion_io import load_motion
from engine.motion_io.bvh_write import write_bvh
from engine.motion_io.npy_read import recover_from_ric
from engine.skeleton import FOOT_JOINTS, JOINT_INDEX, LEFT_JOINTS, RIGHT_JOINTS

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"real sample data not found at {SAMPLES}")
BVH_SAMPLES = sorted(SAMPLES.glob("*.bvh")) if SAMPLES.is_dir() else []
HML_JOINTS = SAMPLES / "humanml3d_new_joints_012314.npy"
HML_VECS = SAMPLES / "humanml3d_new_joint_vecs_012314.npy"


@pytest.fixture(scope="module")
def bandai() -> dict:
    return {p.name: load_motion(p) for p in BVH_SAMPLES}


def test_there_are_six_samples():
    assert len(BVH_SAMPLES) == 6


@pytest.mark.parametrize("name", [p.name for p in BVH_SAMPLES])
def test_bandai_take_is_a_plausible_canonical_person(bandai, name):
    motion = bandai[name]
    assert motion.fps == 20.0 and motion.meta["units"] == "centimetres" and motion.meta["up_axis"] == "+Y"
    assert 1.4 <= motion.meta["stature_m"] <= 2.0
    assert 1.2 <= np.median(motion.joints[:, JOINT_INDEX["head"], 1]) <= 1.9  # head joint height standing
    lengths = motion.bone_lengths()
    assert (lengths.std(axis=0) / lengths.mean(axis=0)).max() < 0.02
    assert abs(motion.joints[:, FOOT_JOINTS, 1].min()) < 0.02  # feet on the floor
    assert np.allclose(motion.joints[0, 0, [0, 2]], 0.0, atol=1e-5)
    # ~30 fps source resampled to 20 fps
    assert abs(motion.frames - (motion.meta["source_frames"] - 1) * 20 / 30 - 1) <= 1


def test_bandai_mapping_uses_the_pelvis_not_the_floor_root(bandai):
    report = next(iter(bandai.values())).meta["mapped_joints"]
    assert report["pelvis"] == "Hips" and report["l_collar"] == "Shoulder_L" and report["l_shoulder"] == "UpperArm_L"
    assert report["l_wrist"] == "Hand_L" and report["r_foot"] == "Toes_R" and report["spine3"] == "Chest"


def test_left_hand_take_raises_the_canonical_left_wrist(bandai):
    for side, other, name in (("l", "r", "dataset-2_raise-up-left-hand_elderly_003.bvh"),
                              ("r", "l", "dataset-2_raise-up-right-hand_youthful_001.bvh")):
        j = bandai[name].joints
        head_top = j[:, JOINT_INDEX["head"], 1].max()
        assert j[:, JOINT_INDEX[f"{side}_wrist"], 1].max() > head_top
        assert j[:, JOINT_INDEX[f"{other}_wrist"], 1].max() < head_top - 0.3


@pytest.mark.parametrize("name", [p.name for p in BVH_SAMPLES])
def test_canonical_left_joints_are_at_plus_x_in_frame_0(bandai, name):
    j = bandai[name].joints[0]
    assert (j[list(LEFT_JOINTS), 0] > j[list(RIGHT_JOINTS), 0]).all()
    assert j[JOINT_INDEX["l_hip"], 0] > 0


def test_263_features_recover_the_humanml3d_joints():
    vecs = np.load(HML_VECS, allow_pickle=False)
    joints = np.load(HML_JOINTS, allow_pickle=False)
    recovered = recover_from_ric(vecs, 22)
    assert recovered.shape == joints.shape == (170, 22, 3)
    assert np.linalg.norm(recovered - joints, axis=-1).mean() < 0.01
    a, b = load_motion(HML_VECS), load_motion(HML_JOINTS)
    assert np.linalg.norm(a.joints - b.joints, axis=-1).mean() < 0.01
    assert b.meta["units"] == "metres" and 1.4 <= b.meta["stature_m"] <= 2.0


@pytest.mark.parametrize("name", [p.name for p in BVH_SAMPLES[:3]] + [HML_JOINTS.name])
def test_real_motion_round_trips_through_the_writer(tmp_path, name):
    motion = load_motion(SAMPLES / name)
    write_bvh(motion, tmp_path / "out.bvh")
    back = load_motion(tmp_path / "out.bvh")
    assert back.frames == motion.frames
    assert np.linalg.norm(back.joints - motion.joints, axis=-1).mean() <= 0.01
