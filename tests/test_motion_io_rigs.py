"""Rig mapping, writer round trips and unit/up-axis detection on procedurally made motions."""
from __future__ import annotations

import json

import numpy as np
import pytest
from fixtures.motion_io.procedural import (CC_NAMES, CMU_NAMES, MIXAMO_NAMES, SMPL_NAMES, canonical_bvh_text,
                                           procedural_motion, rename_rig)

from engine.errors import InputError
from engine.motion import canonicalize
from engine.motion_io import load_motion, save_motion
from engine.motion_io.bvh_mapping import split_name
from engine.motion_io.bvh_read import read_bvh
from engine.motion_io.bvh_write import write_bvh
from engine.motion_io.units import to_metres_y_up
from engine.skeleton import JOINT_NAMES


def mean_error(a, b) -> float:
    return float(np.linalg.norm(a.joints - b.joints, axis=-1).mean())


@pytest.mark.parametrize("raw,expected", [
    ("mixamorig:LeftUpLeg", ("l", "upleg")), ("CC_Base_R_Calf", ("r", "calf")), ("Shoulder_L", ("l", "shoulder")),
    ("UpperArm_R", ("r", "upperarm")), ("L_Collar", ("l", "collar")), ("joint_Root", (None, "root")),
    ("Spine1", (None, "spine1")), ("lfemur", ("l", "femur")), ("hand.R", ("r", "hand")), ("l_wrist", ("l", "wrist")),
    ("RightForeArm", ("r", "forearm")), ("LHipJoint", ("l", "hip")),
])
def test_split_name_finds_side_and_base(raw, expected):
    assert split_name(raw) == expected


def test_write_read_round_trip_is_within_a_centimetre(tmp_path):
    motion = procedural_motion(80, seed=1)
    write_bvh(motion, tmp_path / "m.bvh")
    back = read_bvh(tmp_path / "m.bvh")
    assert back.frames == motion.frames and back.meta["units"] == "centimetres"
    assert mean_error(back, motion) <= 0.01
    assert all(back.meta["mapped_joints"][n] == n for n in JOINT_NAMES)  # the writer's names map to themselves


@pytest.mark.parametrize("names", [CMU_NAMES, MIXAMO_NAMES, CC_NAMES, SMPL_NAMES], ids=["cmu", "mixamo", "cc", "smpl"])
def test_renamed_rigs_map_back_to_the_canonical_joints(tmp_path, names):
    motion = procedural_motion(40, seed=2)
    (tmp_path / "rig.bvh").write_text(rename_rig(canonical_bvh_text(motion, tmp_path), names))
    back = read_bvh(tmp_path / "rig.bvh")
    assert back.meta["mapped_joints"] == names
    assert mean_error(back, motion) <= 0.01


def test_bandai_like_rig_interpolates_spine_and_collars(tmp_path):
    motion = procedural_motion(40, seed=3)
    text = canonical_bvh_text(motion, tmp_path)
    # Keep two spine joints and drop the collar names: they must come back interpolated.
    names = {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine_mid", "spine3": "Chest",
             "l_collar": "Shoulder_L", "r_collar": "Shoulder_R", "l_shoulder": "UpperArm_L"}
    (tmp_path / "rig.bvh").write_text(rename_rig(text, names).replace("Shoulder_L", "Piece_A").replace(
        "Shoulder_R", "Piece_B"))
    back = read_bvh(tmp_path / "rig.bvh")
    report = back.meta["mapped_joints"]
    assert report["l_collar"] == report["r_collar"] == "interpolated"
    assert report["l_shoulder"] == "UpperArm_L" and report["r_shoulder"] == "r_shoulder"
    assert "interpolated" not in (report["pelvis"], report["neck"]) and report["spine3"] == "Chest"
    assert mean_error(back, motion) < 0.05  # only the interpolated joints move


def test_user_mapping_overrides_the_rules(tmp_path):
    motion = procedural_motion(30, seed=4)
    odd = {n: f"Bone{i:02d}" for i, n in enumerate(JOINT_NAMES)}
    (tmp_path / "odd.bvh").write_text(rename_rig(canonical_bvh_text(motion, tmp_path), odd))
    with pytest.raises(InputError, match="odd.bvh.*l_hip"):
        read_bvh(tmp_path / "odd.bvh")
    (tmp_path / "map.json").write_text(json.dumps(odd))
    back = load_motion(tmp_path / "odd.bvh", mapping=tmp_path / "map.json")
    assert mean_error(back, motion) <= 0.01
    (tmp_path / "bad.json").write_text(json.dumps({"l_hip": "NoSuchBone"}))
    with pytest.raises(InputError, match="bad.json.*NoSuchBone"):
        load_motion(tmp_path / "odd.bvh", mapping=tmp_path / "bad.json")


def test_rig_without_legs_names_the_missing_joints(tmp_path):
    motion = procedural_motion(20, seed=5)
    legless = {n: f"Prop{i}" for i, n in enumerate(JOINT_NAMES) if n[2:] in ("hip", "knee", "ankle", "foot")}
    (tmp_path / "legless.bvh").write_text(rename_rig(canonical_bvh_text(motion, tmp_path), legless))
    with pytest.raises(InputError, match=r"legless.bvh.*l_hip, r_hip, l_knee, r_knee, l_ankle, r_ankle"):
        read_bvh(tmp_path / "legless.bvh")


@pytest.mark.parametrize("unit,scale", [("millimetres", 1000.0), ("inches", 1 / 0.0254), ("metres", 1.0)])
def test_units_and_z_up_are_detected(unit, scale):
    motion = procedural_motion(30, seed=6)
    z_up = motion.joints[..., [0, 2, 1]] * np.array([1.0, -1.0, 1.0])  # a proper rotation: Y up -> Z up
    joints, info = to_metres_y_up(z_up * scale, "clip")
    assert info["units"] == unit and info["up_axis"] == "+Z"
    assert np.allclose(canonicalize(joints.astype(np.float32)), motion.joints, atol=1e-4)


def test_npy_save_and_load_round_trip(tmp_path):
    motion = procedural_motion(25, seed=7)
    save_motion(motion, tmp_path / "m.npy")
    saved = np.load(tmp_path / "m.npy", allow_pickle=False)
    assert saved.dtype == np.float32 and saved.shape == (25, 22, 3)
    back = load_motion(tmp_path / "m.npy")
    assert mean_error(back, motion) < 1e-5 and back.meta["source"].endswith("m.npy")
    save_motion(back, tmp_path / "m.bvh")
    assert mean_error(load_motion(tmp_path / "m.bvh"), motion) <= 0.01


def test_kit_joints_in_millimetres_become_canonical(tmp_path):
    motion = procedural_motion(25, seed=8)
    j = motion.joints
    kit_from = ["pelvis", "spine1", "spine3", "neck", "head", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder",
                "r_elbow", "r_wrist", "l_hip", "l_knee", "l_ankle", "l_foot", "l_foot", "r_hip", "r_knee",
                "r_ankle", "r_foot", "r_foot"]
    kit = j[:, [JOINT_NAMES.index(n) for n in kit_from]] * 1000.0
    np.save(tmp_path / "kit.npy", kit)
    back = load_motion(tmp_path / "kit.npy")
    assert back.meta["units"] == "millimetres" and back.meta["mapped_joints"]["l_collar"] == "interpolated"
    assert back.frames == 39  # 25 frames at KIT's 12.5 fps span 1.92 s: 39 frames at 20 fps
    wrist = JOINT_NAMES.index("l_wrist")
    resampled_src = np.interp(np.arange(39) / 20, np.arange(25) / 12.5, j[:, wrist, 1])
    assert np.abs(back.joints[:, wrist, 1] - resampled_src).max() < 0.02


def test_z_up_bvh_file_is_turned_y_up(tmp_path):
    """A rig whose extra world root turns it Z-up (Rx 90 deg) reads back as the same canonical motion."""
    motion = procedural_motion(30, seed=10)
    text = canonical_bvh_text(motion, tmp_path)
    head, body = text.split("MOTION\n")
    head = head.replace("ROOT pelvis", "ROOT World\n{\n\tOFFSET 0 0 0\n\tCHANNELS 3 Zrotation Xrotation Yrotation\n"
                        "JOINT pelvis") + "}\n"
    frames, frame_time, *rows = body.splitlines()
    (tmp_path / "zup.bvh").write_text(head + "MOTION\n" + "\n".join([frames, frame_time] + [
        "0 90 0 " + row for row in rows]) + "\n")
    back = read_bvh(tmp_path / "zup.bvh")
    assert back.meta["up_axis"] == "+Z" and back.meta["mapped_joints"]["pelvis"] == "pelvis"
    assert mean_error(back, motion) <= 0.01
