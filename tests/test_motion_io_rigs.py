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


def cc_tree():
    """A Character Creator rig as iClone exports it (centimetres): the pelvis only carries the legs,
    the spine hangs from CC_Base_Hip beside it, twist bones sit among the named joints."""
    def leg(s, x):
        return (f"CC_Base_{s}_Thigh", (x, -5, 0), [(f"CC_Base_{s}_ThighTwist01", (0, -20, 0), []),
                (f"CC_Base_{s}_Calf", (0, -42, 0), [(f"CC_Base_{s}_Foot", (0, -42, 0), [
                    (f"CC_Base_{s}_ToeBase", (0, -6, 12), [])])])])

    def arm(s, x):
        return (f"CC_Base_{s}_Clavicle", (x * 3, 18, 0), [(f"CC_Base_{s}_Upperarm", (x * 14, 0, 0), [
            (f"CC_Base_{s}_UpperarmTwist01", (x * 12, 0, 0), []),
            (f"CC_Base_{s}_Forearm", (x * 27, 0, 0), [(f"CC_Base_{s}_Hand", (x * 25, 0, 0), [])])])])
    head = ("CC_Base_NeckTwist01", (0, 22, 0), [("CC_Base_NeckTwist02", (0, 5, 0), [("CC_Base_Head", (0, 5, 0), [])])])
    spine = ("CC_Base_Waist", (0, 6, 0), [("CC_Base_Spine01", (0, 12, 0), [("CC_Base_Spine02", (0, 14, 0), [
        head, arm("L", 1), arm("R", -1), ("CC_Base_L_RibsTwist", (5, 5, 5), [])])])])
    hip = ("CC_Base_Hip", (0, 100, 0), [("CC_Base_Pelvis", (0, 0, 0), [leg("L", 9), leg("R", -9)]), spine])
    return ("CC_Base_BoneRoot", (0, 0, 0), [hip])


def bvh_of_tree(tree, frames: np.ndarray | None = None) -> str:
    """BVH text of (name, offset, children) with a 6-channel root and 3 rotations elsewhere."""
    lines, count = ["HIERARCHY"], [0]

    def emit(node, depth, root=False):
        name, offset, children = node
        pad = "\t" * depth
        lines.append(f"{pad}{'ROOT' if root else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET {offset[0]} {offset[1]} {offset[2]}")
        channels = ("Xposition Yposition Zposition " if root else "") + "Zrotation Xrotation Yrotation"
        lines.append(f"{pad}\tCHANNELS {len(channels.split())} {channels}")
        count[0] += len(channels.split())
        for child in children:
            emit(child, depth + 1)
        if not children:
            lines.extend([f"{pad}\tEnd Site", pad + "\t{", f"{pad}\t\tOFFSET 0 5 0", pad + "\t}"])
        lines.append(pad + "}")
    emit(tree, 0, root=True)
    frames = np.zeros((2, count[0])) if frames is None else frames
    lines += ["MOTION", f"Frames: {len(frames)}", "Frame Time: 0.0333333"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in frames]
    return "\n".join(lines) + "\n"


def test_character_creator_spine_joints_are_mapped_not_interpolated(tmp_path):
    rng = np.random.default_rng(11)
    text = bvh_of_tree(cc_tree())
    n_channels = len(text.splitlines()[-1].split())
    frames = np.vstack([np.zeros(n_channels), rng.uniform(-15, 15, n_channels)])
    (tmp_path / "cc.bvh").write_text(bvh_of_tree(cc_tree(), frames))
    motion = read_bvh(tmp_path / "cc.bvh")
    report = motion.meta["mapped_joints"]
    assert (report["spine1"], report["spine2"], report["spine3"]) == ("CC_Base_Waist", "CC_Base_Spine01",
                                                                      "CC_Base_Spine02")
    assert report["pelvis"] == "CC_Base_Pelvis" and report["neck"] == "CC_Base_NeckTwist01"
    assert report["l_collar"] == "CC_Base_L_Clavicle" and report["l_foot"] == "CC_Base_L_ToeBase"
    assert "interpolated" not in report.values()
    # frame 0 is the rest pose: the spine joints sit exactly at the rig's joints, metres up the chain
    j = motion.joints[0].astype(np.float64)
    up = [j[JOINT_NAMES.index(b)] - j[JOINT_NAMES.index(a)] for a, b in
          (("pelvis", "spine1"), ("spine1", "spine2"), ("spine2", "spine3"), ("spine3", "neck"))]
    assert np.allclose(up, [[0, 0.06, 0], [0, 0.12, 0], [0, 0.14, 0], [0, 0.22, 0]], atol=1e-5)
