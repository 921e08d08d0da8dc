"""Every kind of bad input ends in an InputError naming the file; the CLI prints one line, exit 2."""
from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.motion_io.procedural import canonical_bvh_text, procedural_motion

from engine.errors import InputError
from engine.motion import MAX_FILE_BYTES
from engine.motion_io import load_motion, save_motion

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def good_bvh(tmp_path_factory) -> str:
    return canonical_bvh_text(procedural_motion(12, seed=9), tmp_path_factory.mktemp("good"))


def first_frame_line(text: str) -> int:
    lines = text.splitlines()
    return next(i for i, line in enumerate(lines) if line.startswith("Frame Time")) + 1


def edit_value(text: str, new_token: str) -> str:
    """Replace the 5th value of the first frame."""
    lines = text.splitlines()
    row = first_frame_line(text)
    values = lines[row].split()
    values[4] = new_token
    lines[row] = " ".join(values)
    return "\n".join(lines) + "\n"


def assert_input_error(path: Path, pattern: str, mapping=None) -> None:
    with pytest.raises(InputError) as info:
        load_motion(path, mapping=mapping)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert pattern.lower() in message.lower(), message


BVH_CASES = {
    "truncated_hierarchy": (lambda t: t[: t.index("MOTION") // 2], "no MOTION section"),
    "truncated_in_joint": (lambda t: t[: t.index("JOINT l_knee")] + "MOTION\nFrames: 1\nFrame Time: 0.05\n0\n",
                           "truncated HIERARCHY"),
    "truncated_frames": (lambda t: "\n".join(t.splitlines()[:-3]) + "\n", "frame count mismatch"),
    "truncated_last_line": (lambda t: t[: t.rstrip().rindex(" ")] + "\n", "channel values"),
    "malformed_number": (lambda t: edit_value(t, "1.2.3"), "malformed MOTION data"),
    "malformed_offset": (lambda t: t.replace("OFFSET", "OFFSET x", 1), "is not a number"),
    "unknown_channel": (lambda t: t.replace("Xrotation", "Wrotation", 1), "unknown channel 'Wrotation'"),
    "nan_value": (lambda t: edit_value(t, "nan"), "NaN"),
    "inf_value": (lambda t: edit_value(t, "inf"), "NaN or infinite"),
    "zero_frames": (lambda t: t[: t.index("MOTION")] + "MOTION\nFrames: 0\nFrame Time: 0.05\n", "zero frames"),
    "not_bvh": (lambda t: "hello world\n", "does not start with HIERARCHY"),
}


@pytest.mark.parametrize("case", list(BVH_CASES))
def test_bad_bvh_raises_input_error_naming_the_file(tmp_path, good_bvh, case):
    make, pattern = BVH_CASES[case]
    path = tmp_path / f"{case}.bvh"
    path.write_text(make(good_bvh))
    assert_input_error(path, pattern)


def test_too_many_frames(tmp_path):
    header = ("HIERARCHY\nROOT Hips\n{\n\tOFFSET 0 0 0\n\tCHANNELS 3 Xposition Yposition Zposition\n"
              "\tEnd Site\n\t{\n\t\tOFFSET 0 1 0\n\t}\n}\nMOTION\nFrames: 20001\nFrame Time: 0.05\n")
    path = tmp_path / "long.bvh"
    path.write_text(header + "0 0 0\n" * 20001)
    assert_input_error(path, "20001 frames is more than the limit")


@pytest.mark.parametrize("suffix", [".bvh", ".npy"])
def test_file_over_100_mb_is_refused_before_reading(tmp_path, suffix):
    path = tmp_path / f"huge{suffix}"
    with open(path, "wb") as f:
        f.write(b"HIERARCHY\n")
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    assert_input_error(path, "limit")


NPY_CASES = {
    "pickled": (lambda p: p.write_bytes(pickle.dumps({"joints": [1, 2, 3]})), "pickle"),
    "object_array": (lambda p: np.save(p, np.array([np.zeros(3), "x"], dtype=object), allow_pickle=True),
                     "pickle"),
    "wrong_shape": (lambda p: np.save(p, np.zeros((10, 5, 3))), "unrecognised array shape (10, 5, 3)"),
    "nan": (lambda p: np.save(p, np.full((10, 22, 3), np.nan)), "NaN"),
    "zero_frames": (lambda p: np.save(p, np.zeros((0, 22, 3))), "zero frames"),
    "text_array": (lambda p: np.save(p, np.array(["a", "b"])), "numeric"),
    "garbage": (lambda p: p.write_bytes(b"\x93NUMPY garbage"), "not a readable"),
}


@pytest.mark.parametrize("case", list(NPY_CASES))
def test_bad_npy_raises_input_error_naming_the_file(tmp_path, case):
    make, pattern = NPY_CASES[case]
    path = tmp_path / f"{case}.npy"
    make(path)
    assert_input_error(path, pattern)


def test_unknown_extensions(tmp_path):
    path = tmp_path / "motion.fbx"
    path.write_text("x")
    assert_input_error(path, "unknown motion file type '.fbx'")
    with pytest.raises(InputError, match="out.txt"):
        save_motion(procedural_motion(5), tmp_path / "out.txt")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", "convert", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_cli_reports_a_bad_file_in_one_line_with_exit_code_2(tmp_path, good_bvh):
    path = tmp_path / "broken.bvh"
    path.write_text(BVH_CASES["unknown_channel"][0](good_bvh))
    result = run_cli(str(path), "--out", str(tmp_path / "out.npy"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Wrotation" in lines[0]
    assert not (tmp_path / "out.npy").exists()


def test_cli_converts_and_prints_json(tmp_path, good_bvh):
    import json
    path = tmp_path / "good.bvh"
    path.write_text(good_bvh)
    result = run_cli(str(path), "--out", str(tmp_path / "out.npy"), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert set(info) == {"input", "output", "frames", "fps", "joints", "duration_s", "height_m", "mapped_joints"}
    assert info["frames"] == 12 and info["joints"] == 22 and info["fps"] == 20.0
    assert np.load(tmp_path / "out.npy").shape == (12, 22, 3)
