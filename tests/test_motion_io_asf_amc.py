"""CMU ASF/AMC: a small CMU-named skeleton and a few frames written here with hand-computable
poses (bones along the axes, right angles), read back through load_motion."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError
from engine.motion_io import load_motion
from engine.motion_io.asf_amc import forward_kinematics, parse_amc, parse_asf
from engine.skeleton import JOINT_INDEX

INCH = 0.0254
HIP_HEIGHT = 0.95  # metres: the root's height in every frame unless a test moves it
# (name, parent, direction, length in metres, axis "ax ay az order", dofs); faces +Z, left is +X, Y up.
SIDE = [
    ("hipjoint", "root", (0.6, -0.8, 0), 0.125, "0 0 0 XYZ", ""),
    ("femur", "hipjoint", (0, -1, 0), 0.40, "0 0 0 XYZ", "rx ry rz"),
    ("tibia", "femur", (0, -1, 0), 0.40, "0 0 0 XYZ", "rx"),
    ("foot", "tibia", (0, -0.6, 0.8), 0.10, "0 0 0 XYZ", "rx rz"),
    ("toes", "foot", (0, 0, 1), 0.05, "0 0 0 XYZ", "rx"),
    ("clavicle", "thorax", (0.8, 0.6, 0), 0.20, "0 0 0 XYZ", "ry rz"),
    ("humerus", "clavicle", (1, 0, 0), 0.28, "0 0 -90 XYZ", "rx ry rz"),
    ("radius", "humerus", (1, 0, 0), 0.25, "0 0 -90 XYZ", "rx"),
    ("wrist", "radius", (1, 0, 0), 0.05, "0 0 -90 XYZ", "ry"),
    ("hand", "wrist", (1, 0, 0), 0.08, "0 0 -90 XYZ", "rx rz"),
    ("fingers", "hand", (1, 0, 0), 0.03, "0 0 -90 XYZ", "rx"),
    ("thumb", "hand", (0.6, 0, 0.8), 0.03, "0 0 -45 XYZ", "rx rz"),
]
SPINE = [
    ("lowerback", "root", (0, 1, 0), 0.12, "0 0 0 XYZ", "rx ry rz"),
    ("upperback", "lowerback", (0, 1, 0), 0.12, "0 0 0 XYZ", "rx ry rz"),
    ("thorax", "upperback", (0, 1, 0), 0.12, "0 0 0 XYZ", "rx ry rz"),
    ("lowerneck", "thorax", (0, 1, 0), 0.10, "0 0 0 XYZ", "rx ry rz"),
    ("upperneck", "lowerneck", (0, 1, 0), 0.10, "0 0 0 XYZ", "rx ry rz"),
    ("head", "upperneck", (0, 1, 0), 0.10, "0 0 0 XYZ", "rx ry rz"),
]


def sided(side: str) -> list:
    sign = 1 if side == "l" else -1
    out = []
    for name, parent, (x, y, z), length, axis, dofs in SIDE:
        ax, ay, az, order = axis.split()
        parent = parent if parent in ("root", "thorax") else side + parent
        out.append((side + name, parent, (sign * x, y, z), length, f"{ax} {ay} {float(az) * sign:g} {order}", dofs))
    return out


BONES = SPINE + sided("l") + sided("r")


def asf_text(bones=BONES, length_unit=0.45, angle="deg", root_order="TX TY TZ RX RY RZ") -> str:
    to_file = length_unit / INCH  # metres -> file lengths: file / length_unit is inches
    lines = [":version 1.10", ":name VICON", ":units", "  mass 1.0", f"  length {length_unit}", f"  angle {angle}",
             ":documentation", "  written by the MotionLex tests", ":root", f"   order {root_order}", "   axis XYZ",
             "   position 0 0 0", "   orientation 0 0 0", ":bonedata"]
    for i, (name, _, direction, length, axis, dofs) in enumerate(bones, start=1):
        *angles, order = axis.split()
        angles = [np.radians(float(a)) if angle == "rad" else float(a) for a in angles]
        lines += ["  begin", f"     id {i}", f"     name {name}", "     direction " + " ".join(f"{v:.9f}" for v in direction),
                  f"     length {length * to_file:.9f}", "     axis " + " ".join(f"{a:.9f}" for a in angles) + f" {order}"]
        if dofs:
            lines += [f"     dof {dofs}", "     limits " + "\n            ".join("(-180.0 180.0)" for _ in dofs.split())]
        lines.append("  end")
    children: dict[str, list[str]] = {}
    for name, parent, *_ in bones:
        children.setdefault(parent, []).append(name)
    lines += [":hierarchy", "  begin"] + [f"    {p} {' '.join(c)}" for p, c in children.items()] + ["  end"]
    return "\n".join(lines) + "\n"


def amc_text(frames: list[dict], bones=BONES, length_unit=0.45, radians=False, root_order="TX TY TZ RX RY RZ",
             header=":FULLY-SPECIFIED\n:DEGREES\n") -> str:
    """frames: per frame {"root": {"tx": metres, "ry": degrees, ...}, bone: [degrees per dof]}; zeros elsewhere."""
    angle = np.radians if radians else (lambda v: v)
    out = ["#!OML:ASF 01.asf", header.rstrip("\n")]
    for number, frame in enumerate(frames, start=1):
        root = {"tx": 0.0, "ty": HIP_HEIGHT, "tz": 0.0, "rx": 0.0, "ry": 0.0, "rz": 0.0, **frame.get("root", {})}
        values = [root[k] * length_unit / INCH if k.startswith("t") else angle(root[k]) for k in root_order.lower().split()]
        out += [str(number), "root " + " ".join(f"{v:.9f}" for v in values)]
        for name, _, _, _, _, dofs in bones:
            if dofs:
                given = frame.get(name, [0.0] * len(dofs.split()))
                out.append(name + " " + " ".join(f"{angle(v):.9f}" for v in given))
    return "\n".join(out) + "\n"


def write(folder: Path, frames: list[dict], stem="01_01", asf_name="01.asf", length_unit=0.45,
          root_order="TX TY TZ RX RY RZ", asf_angle="deg", amc_radians=False,
          header=":FULLY-SPECIFIED\n:DEGREES\n") -> Path:
    """A CMU-style pair in `folder` (made if needed): `asf_name` and `stem`.amc; returns the .amc."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / asf_name).write_text(asf_text(length_unit=length_unit, angle=asf_angle, root_order=root_order))
    (folder / f"{stem}.amc").write_text(amc_text(frames, length_unit=length_unit, radians=amc_radians,
                                                  root_order=root_order, header=header))
    return folder / f"{stem}.amc"


def joint(motion, name: str, frame: int = 0) -> np.ndarray:
    return motion.joints[frame, JOINT_INDEX[name]].astype(np.float64)


def assert_input_error(call, path: Path, pattern: str) -> None:
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert pattern.lower() in message.lower(), message


# --- geometry ------------------------------------------------------------------------------------

def test_t_pose_bone_ends_are_where_the_asf_puts_them(tmp_path):
    amc = write(tmp_path, [{}])
    skeleton = parse_asf(tmp_path / "01.asf")
    ends = forward_kinematics(skeleton, parse_amc(amc, skeleton))[0] * INCH  # inches -> metres
    at = {name: ends[i] for i, name in enumerate(skeleton.names)}
    root = np.array([0, HIP_HEIGHT, 0])
    assert np.allclose(at["root"], root, atol=1e-6)
    assert np.allclose(at["lhipjoint"], root + [0.075, -0.1, 0], atol=1e-6)       # the hip is the END of lhipjoint
    assert np.allclose(at["lfemur"], at["lhipjoint"] + [0, -0.4, 0], atol=1e-6)   # the knee
    assert np.allclose(at["ltibia"], at["lfemur"] + [0, -0.4, 0], atol=1e-6)      # the ankle
    assert np.allclose(at["rhipjoint"], root + [-0.075, -0.1, 0], atol=1e-6)
    assert np.allclose(at["thorax"], root + [0, 0.36, 0], atol=1e-6)
    assert np.allclose(at["lclavicle"], at["thorax"] + [0.16, 0.12, 0], atol=1e-6)
    assert np.allclose(at["lhumerus"], at["lclavicle"] + [0.28, 0, 0], atol=1e-6)


def test_t_pose_canonical_joints(tmp_path):
    motion = load_motion(write(tmp_path, [{}]))
    assert motion.joints.shape == (1, 22, 3) and motion.meta["format"] == "amc"
    assert np.allclose(joint(motion, "l_knee") - joint(motion, "l_hip"), [0, -0.4, 0], atol=1e-5)
    assert np.allclose(joint(motion, "l_ankle") - joint(motion, "l_knee"), [0, -0.4, 0], atol=1e-5)
    assert np.allclose(joint(motion, "l_hip") - joint(motion, "pelvis"), [0.075, -0.1, 0], atol=1e-5)
    assert np.allclose(joint(motion, "neck") - joint(motion, "spine3"), [0, 0.1, 0], atol=1e-5)  # lowerneck
    assert np.allclose(joint(motion, "head") - joint(motion, "neck"), [0, 0.1, 0], atol=1e-5)    # upperneck
    # the collar lies on the clavicle, 40% of the way to the shoulder
    assert np.allclose(joint(motion, "l_collar") - joint(motion, "spine3"), [0.064, 0.048, 0], atol=1e-5)
    assert np.allclose(joint(motion, "l_wrist") - joint(motion, "l_elbow"), [0.25, 0, 0], atol=1e-5)
    assert motion.meta["mapped_joints"]["l_knee"] == "lfemur" and motion.meta["mapped_joints"]["l_collar"] == "interpolated"
    assert abs(motion.joints[..., 1].min()) < 1e-6 and np.allclose(joint(motion, "pelvis")[[0, 2]], 0, atol=1e-6)


def test_left_is_plus_x_and_the_body_faces_plus_z(tmp_path):
    motion = load_motion(write(tmp_path, [{}]))
    for name in ("l_hip", "l_knee", "l_shoulder", "l_wrist"):
        assert joint(motion, name)[0] > 0.05 and joint(motion, "r" + name[1:])[0] < -0.05
    assert joint(motion, "l_foot")[2] > joint(motion, "l_ankle")[2] + 0.05  # toes point forward: not a mirror image
    assert joint(motion, "head")[1] > joint(motion, "pelvis")[1] + 0.4
    turned = load_motion(write(tmp_path / "turned", [{"root": {"ry": 90.0, "tx": 2.0}}]))
    assert np.allclose(turned.joints, motion.joints, atol=1e-5)  # facing +X in the file: the same canonical body


def test_ninety_degree_knee_flexion_puts_the_ankle_behind_the_knee(tmp_path):
    motion = load_motion(write(tmp_path, [{"ltibia": [90.0]}]))
    knee, ankle = joint(motion, "l_knee"), joint(motion, "l_ankle")
    assert np.allclose(ankle - knee, [0, 0, -0.4], atol=1e-5)
    assert np.allclose(joint(motion, "l_foot") - ankle, [0, -0.08, -0.06], atol=1e-5)  # the foot turns with the shin
    assert np.allclose(knee - joint(motion, "l_hip"), [0, -0.4, 0], atol=1e-5)


def test_dofs_apply_in_the_order_written(tmp_path):
    # dof rx ry rz with rx = ry = 90: rx turns the thigh backwards (-Z), then ry turns -Z into -X.
    motion = load_motion(write(tmp_path, [{"lfemur": [90.0, 90.0, 0.0]}]))
    assert np.allclose(joint(motion, "l_knee") - joint(motion, "l_hip"), [-0.4, 0, 0], atol=1e-5)


def test_bone_axis_sets_the_frame_of_its_dofs(tmp_path):
    # lhumerus has axis 0 0 -90: its local x is world -Y, so rx = 90 swings the arm from +X to +Z.
    motion = load_motion(write(tmp_path, [{"lhumerus": [90.0, 0.0, 0.0]}]))
    shoulder, elbow = joint(motion, "l_shoulder"), joint(motion, "l_elbow")
    assert np.allclose(elbow - shoulder, [0, 0, 0.28], atol=1e-5)
    assert np.allclose(joint(motion, "l_wrist") - elbow, [0, 0, 0.25], atol=1e-5)


def test_root_values_follow_the_order_line(tmp_path):
    order = "RY TX TY TZ RX RZ"
    amc = write(tmp_path, [{"root": {"ry": 90.0, "tx": 0.1, "tz": 0.2}}], root_order=order)
    skeleton = parse_asf(tmp_path / "01.asf")
    ends = forward_kinematics(skeleton, parse_amc(amc, skeleton))[0] * INCH
    root = ends[skeleton.names.index("root")]
    assert np.allclose(root, [0.1, HIP_HEIGHT, 0.2], atol=1e-6)
    assert np.allclose(ends[skeleton.names.index("lhipjoint")] - root, [0, -0.1, -0.075], atol=1e-6)  # Ry(90)


# --- units and rates -----------------------------------------------------------------------------

POSE = [{"ltibia": [90.0], "lhumerus": [90.0, 0.0, 0.0], "lowerback": [10.0, 20.0, -5.0], "root": {"ry": 30.0}}]


def test_inches_with_length_045_become_metres(tmp_path):
    motion = load_motion(write(tmp_path, POSE))
    assert motion.meta["units"] == "inches"
    assert abs(np.linalg.norm(joint(motion, "l_knee") - joint(motion, "l_hip")) - 0.4) < 1e-5
    assert abs(np.linalg.norm(joint(motion, "r_ankle") - joint(motion, "r_knee")) - 0.4) < 1e-5
    plain = load_motion(write(tmp_path / "plain", POSE, length_unit=1.0))  # the same body written in inches
    assert np.allclose(plain.joints, motion.joints, atol=1e-5)
    step = load_motion(write(tmp_path / "step", [{}] * 6 + [{"root": {"tz": 0.5}}]))  # root translation too
    assert np.allclose(step.joints[1, 0] - step.joints[0, 0], [0, 0, 0.5], atol=1e-5)


def test_radians_read_like_degrees(tmp_path):
    degrees = load_motion(write(tmp_path, POSE))
    # ASF `angle rad` and an AMC that states no unit: both in radians
    radians = load_motion(write(tmp_path / "rad", POSE, asf_angle="rad", amc_radians=True, header=":FULLY-SPECIFIED\n"))
    assert np.allclose(radians.joints, degrees.joints, atol=1e-5)
    # ASF in degrees, but the AMC says :RADIANS
    amc_says = load_motion(write(tmp_path / "amc_rad", POSE, amc_radians=True, header=":FULLY-SPECIFIED\n:RADIANS\n"))
    assert np.allclose(amc_says.joints, degrees.joints, atol=1e-5)


def test_120_fps_becomes_20_fps(tmp_path):
    # One second at 120 fps: the root walks 1 m along +Z and the left knee bends from 0 to 60 degrees.
    frames = [{"root": {"tz": k / 120}, "ltibia": [60.0 * k / 120]} for k in range(121)]
    motion = load_motion(write(tmp_path, frames))
    assert motion.frames == 21 and motion.fps == 20.0
    assert motion.meta["source_fps"] == 120.0 and motion.meta["source_frames"] == 121
    assert np.allclose(motion.joints[:, 0, 2], np.arange(21) / 20, atol=1e-5)
    angle = np.radians(30.0)  # frame 10 = 0.5 s = source frame 60
    shin = joint(motion, "l_ankle", 10) - joint(motion, "l_knee", 10)
    assert np.allclose(shin, [0, -0.4 * np.cos(angle), -0.4 * np.sin(angle)], atol=1e-5)


# --- finding the skeleton ------------------------------------------------------------------------

@pytest.mark.parametrize("asf_name,decoys", [
    ("01_01.asf", ["01.asf", "zz.asf"]),  # the same stem comes first
    ("01.asf", ["02.asf", "zz.asf"]),     # then CMU's subject skeleton NN.asf for NN_MM.amc
    ("01.ASF", ["02.asf"]),               # in any letter case
    ("subject.asf", []),                  # else the only .asf in the folder
])
def test_the_asf_is_found_beside_the_amc(tmp_path, asf_name, decoys):
    amc = write(tmp_path, [{}], asf_name=asf_name)
    for decoy in decoys:
        (tmp_path / decoy).write_text("not a skeleton")
    motion = load_motion(amc)
    assert Path(motion.meta["skeleton"]).name == asf_name


def test_the_asf_given_as_mapping_wins(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "skel.asf").write_text(asf_text())
    (tmp_path / "walk.amc").write_text(amc_text([{}]))
    (tmp_path / "a.asf").write_text("not a skeleton")
    (tmp_path / "b.asf").write_text("not a skeleton")
    motion = load_motion(tmp_path / "walk.amc", mapping=tmp_path / "elsewhere" / "skel.asf")
    assert motion.meta["skeleton"] == str(tmp_path / "elsewhere" / "skel.asf")


def test_missing_or_ambiguous_asf_is_a_clear_error(tmp_path):
    (tmp_path / "02_01.amc").write_text(amc_text([{}]))
    assert_input_error(lambda: load_motion(tmp_path / "02_01.amc"), tmp_path / "02_01.amc",
                       "cannot find its ASF skeleton: looked for 02_01.asf or 02.asf")
    (tmp_path / "a.asf").write_text(asf_text())
    (tmp_path / "b.asf").write_text(asf_text())
    assert_input_error(lambda: load_motion(tmp_path / "02_01.amc"), tmp_path / "02_01.amc", "holds 2 others (a.asf, b.asf)")
    assert_input_error(lambda: load_motion(tmp_path / "02_01.amc", mapping=tmp_path / "map.json"),
                       tmp_path / "map.json", "mapping argument is its .asf skeleton")
    assert_input_error(lambda: load_motion(tmp_path / "02_01.amc", mapping=tmp_path / "gone.asf"),
                       tmp_path / "gone.asf", "does not exist")


def test_an_asf_alone_is_refused(tmp_path):
    (tmp_path / "01.asf").write_text(asf_text())
    assert_input_error(lambda: load_motion(tmp_path / "01.asf"), tmp_path / "01.asf",
                       "an ASF file is the skeleton; give the .amc motion")


# --- hostile and broken files --------------------------------------------------------------------

def chain_bones(n: int) -> list:
    return BONES + [(f"c{i}", "head" if i == 0 else f"c{i - 1}", (0, 1, 0), 0.01, "0 0 0 XYZ", "") for i in range(n)]


def extra_bones(n: int) -> list:
    return BONES + [(f"extra{i}", "head", (0, 1, 0), 0.01, "0 0 0 XYZ", "") for i in range(n)]


def replace_once(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


ASF_CASES = {  # name: (ASF text from the good one, expected words); the error names the ASF
    "unknown_dof": (lambda t: replace_once(t, "dof rx\n", "dof rx rw\n"), "unknown dof 'rw'"),
    "translation_dof": (lambda t: replace_once(t, "dof rx\n", "dof tx\n"), "only rotations"),
    "cycle": (lambda t: replace_once(replace_once(t, "thorax lowerneck lclavicle rclavicle", "thorax lowerneck rclavicle"),
                                     "lwrist lhand\n", "lwrist lhand lclavicle\n"), "cycle (through lclavicle"),
    "second_parent": (lambda t: replace_once(t, "lwrist lhand\n", "lwrist lhand lclavicle\n"),
                      "bone 'lclavicle' is given a second parent"),
    "unknown_parent": (lambda t: replace_once(t, "lhand lfingers", "lpalm lfingers"), "unknown bone 'lpalm'"),
    "unattached": (lambda t: replace_once(t, "lhand lfingers lthumb", "lhand lthumb"), "lfingers are not in the hierarchy"),
    "too_many_bones": (lambda t: asf_text(extra_bones(600)), "more than 512 bones"),
    "too_deep": (lambda t: asf_text(chain_bones(200)), "nested more than 128 deep"),
    "nan_length": (lambda t: re.sub(r"length 7\.\d+", "length nan", t, count=1), "length of bone 'lfemur' is not finite"),
    "bad_direction": (lambda t: replace_once(t, "direction 0.000000000 1", "direction 0.000000000 x"), "not a number"),
    "truncated": (lambda t: t[: t.index("name lhand")], "truncated ASF"),
    "no_hierarchy": (lambda t: t[: t.index(":hierarchy")], "no complete :hierarchy"),
    "not_asf": (lambda t: "hello world\n", "not an ASF skeleton file"),
    "not_cmu": (lambda t: t.replace("lowerneck", "neck"), "not a CMU-named skeleton: it has no bones lowerneck"),
}


@pytest.mark.parametrize("case", list(ASF_CASES))
def test_bad_asf_raises_input_error_naming_the_asf(tmp_path, case):
    make, pattern = ASF_CASES[case]
    amc = write(tmp_path, [{}])
    (tmp_path / "01.asf").write_text(make((tmp_path / "01.asf").read_text()))
    assert_input_error(lambda: load_motion(amc), tmp_path / "01.asf", pattern)


AMC_CASES = {  # name: (AMC text from the good one, expected words); the error names the AMC
    "nan": (lambda t: replace_once(t, "ltibia 0.000000000", "ltibia nan"), "NaN or infinite values (first in frame 1)"),
    "inf": (lambda t: replace_once(t, "ltibia 0.000000000", "ltibia -inf"), "NaN or infinite"),
    "truncated_frame": (lambda t: t[: t.rindex("rfemur")], "truncated or malformed AMC: frame 3 lacks bones rfemur"),
    "truncated_line": (lambda t: t.rstrip()[:-12] + "\n", "truncated or malformed AMC"),
    "unknown_bone": (lambda t: replace_once(t, "\nlfemur", "\nlfemurx"), "unknown bone 'lfemurx'"),
    "not_a_number": (lambda t: replace_once(t, "ltibia 0.000000000", "ltibia 0.0.0"), "is not a number"),
    "frame_gap": (lambda t: replace_once(t, "\n2\n", "\n4\n"), "frame 4 follows frame 1"),
    "values_first": (lambda t: "root 0 0 0 0 0 0\n" + t, "before the first frame number"),
    "zero_frames": (lambda t: ":FULLY-SPECIFIED\n:DEGREES\n", "zero frames"),
    "repeated_bone": (lambda t: replace_once(t, "\nltibia 0.000000000", "\nltibia 0\nltibia 0.000000000"),
                      "a second line for 'ltibia'"),
}


@pytest.mark.parametrize("case", list(AMC_CASES))
def test_bad_amc_raises_input_error_naming_the_amc(tmp_path, case):
    make, pattern = AMC_CASES[case]
    amc = write(tmp_path, [{}, {}, {}])
    amc.write_text(make(amc.read_text()))
    assert_input_error(lambda: load_motion(amc), amc, pattern)


@pytest.mark.parametrize("which", ["asf", "amc"])
def test_non_utf8_bytes_are_refused(tmp_path, which):
    amc = write(tmp_path, [{}])
    target = amc if which == "amc" else tmp_path / "01.asf"
    data = target.read_bytes()
    target.write_bytes(data[:200] + b"\xff\xfe\x80" + data[200:])
    assert_input_error(lambda: load_motion(amc), target, f"not a readable {which.upper()} text file")


def test_frames_are_counted_against_the_limit_while_reading(tmp_path, monkeypatch):
    import engine.motion_io.asf_amc as asf_amc
    monkeypatch.setattr(asf_amc, "MAX_FRAMES", 2)  # 2 frames at 20 fps: 12 at CMU's 120
    assert load_motion(write(tmp_path, [{}] * 12)).frames == 2
    assert_input_error(lambda: load_motion(write(tmp_path, [{}] * 13)), tmp_path / "01_01.amc",
                       "more than 12 frames at 120 fps")


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path, monkeypatch):
    import engine.motion_io.textfile as textfile
    amc, asf = write(tmp_path, [{}] * 20), tmp_path / "01.asf"
    assert amc.stat().st_size > asf.stat().st_size
    monkeypatch.setattr(textfile, "MAX_FILE_BYTES", asf.stat().st_size)
    assert_input_error(lambda: load_motion(amc), amc, "limit")
    monkeypatch.setattr(textfile, "MAX_FILE_BYTES", asf.stat().st_size - 1)
    assert_input_error(lambda: load_motion(amc), asf, "limit")
