"""Every kind of bad input ends in an InputError naming the file; the CLI prints one line, exit 2."""
from __future__ import annotations

import pickle
import subprocess
import sys
import time
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


# --- hostile inputs: limits come before the work (and the memory) they bound ----------------------

def returns_promptly(call, seconds: float = 10.0):
    """Runs call() expecting an InputError; fails if it took long (a sign of a huge allocation)."""
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        call()
    assert time.perf_counter() - start < seconds
    return str(info.value)


def nested_bvh(depth: int) -> str:
    opening = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n" for i in range(depth))
    return ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation "
            "Yrotation\n" + opening + "End Site\n{\nOFFSET 0 1 0\n}\n" + "}\n" * (depth + 1) +
            "MOTION\nFrames: 1\nFrame Time: 0.05\n" + " ".join(["0"] * (6 + 3 * depth)) + "\n")


@pytest.mark.parametrize("depth", [5_000, 10_000])
def test_deeply_nested_bvh_hierarchy_is_refused_without_recursion(tmp_path, depth):
    path = tmp_path / "deep.bvh"
    path.write_text(nested_bvh(depth))
    message = returns_promptly(lambda: load_motion(path))
    assert message.startswith(str(path)) and "nested more than 128 deep" in message


def test_bvh_with_too_many_joints_is_refused(tmp_path):
    joints = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 0\nEnd Site\n{{\nOFFSET 0 1 0\n}}\n}}\n" for i in range(600))
    path = tmp_path / "wide.bvh"
    path.write_text("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xposition Yposition Zposition\n" + joints +
                    "}\nMOTION\nFrames: 1\nFrame Time: 0.05\n0 0 0\n")
    assert_input_error(path, "more than 512 joints")


def test_a_nested_rig_within_the_limits_still_reads(tmp_path):
    """100 nested joints (under the depth limit) parse; the mapping then names what it lacks."""
    path = tmp_path / "chain.bvh"
    path.write_text(nested_bvh(100))
    assert_input_error(path, "cannot find rig joints")


def test_bvh_declaring_a_billion_channels_is_refused(tmp_path, good_bvh):
    path = tmp_path / "channels.bvh"
    path.write_text(good_bvh.replace("CHANNELS 3", "CHANNELS 1000000000", 1))
    message = returns_promptly(lambda: load_motion(path))
    assert message.startswith(str(path)) and "invalid channel count 1e+09" in message


def test_bvh_declaring_ten_million_frames_is_refused_before_reading_them(tmp_path, good_bvh):
    head, _, rest = good_bvh.partition("Frames: 12")
    path = tmp_path / "frames.bvh"
    path.write_text(head + "Frames: 10000000" + rest)
    message = returns_promptly(lambda: load_motion(path))
    assert message.startswith(str(path)) and "10000000 frames is more than the limit of 20000" in message


def test_bvh_with_far_more_rows_than_declared_is_refused(tmp_path, good_bvh):
    lines = good_bvh.splitlines()
    row = lines[first_frame_line(good_bvh)]
    path = tmp_path / "rows.bvh"
    path.write_text(good_bvh + (row + "\n") * 100_000)
    assert_input_error(path, "the header says 12 frames, the file has more")


def npy_with_header(path: Path, shape: tuple, descr: str = "<f4", data: bytes = b"", fortran: bool = False) -> Path:
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": fortran, "shape": shape})
        f.write(data)
    return path


def test_npy_header_declaring_a_huge_array_allocates_nothing(tmp_path):
    path = npy_with_header(tmp_path / "huge.npy", (100_000_000, 22, 3), data=b"\0" * 64)
    message = returns_promptly(lambda: load_motion(path))
    assert message.startswith(str(path)) and "100000000 frames is more than the limit of 20000" in message
    wide = npy_with_header(tmp_path / "wide.npy", (100, 10**9), data=b"\0" * 64)  # few frames, huge rows
    message = returns_promptly(lambda: load_motion(wide))
    assert "truncated .npy file" in message and "(100, 1000000000)" in message


NPY_HEADER_CASES = {
    "truncated_data": (lambda p: npy_with_header(p, (100, 22, 3), data=np.zeros((10, 22, 3), "<f4").tobytes()),
                       "truncated .npy file: the header declares a (100, 22, 3) float32 array (26400 bytes"),
    "trailing_bytes": (lambda p: npy_with_header(p, (10, 22, 3), data=np.zeros((11, 22, 3), "<f4").tobytes()),
                       "264 bytes after the declared (10, 22, 3) float32 array"),
    "object_header": (lambda p: npy_with_header(p, (10, 22, 3), descr="|O", data=b"\0" * 64), "pickle"),
    "complex": (lambda p: np.save(p, np.zeros((10, 22, 3), np.complex64)), "expected a numeric array"),
    "one_dimensional": (lambda p: np.save(p, np.zeros(66)), "unrecognised array shape (66,)"),
    "four_dimensional": (lambda p: np.save(p, np.zeros((2, 10, 22, 3))), "unrecognised array shape (2, 10, 22, 3)"),
    "negative_dimension": (lambda p: npy_with_header(p, (-10, 22, 3), data=b"\0" * 64), "unrecognised array shape"),
    "bad_header": (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}    \n"), "not a readable .npy file"),
    "version_3": (lambda p: p.write_bytes(b"\x93NUMPY\x03\x00" + b"\0" * 32), "unsupported format version 3.0"),
    "npz_renamed": (lambda p: (np.savez(p.with_suffix(".npz"), joints=np.zeros((10, 22, 3))),
                               p.with_suffix(".npz").rename(p)), "zip archive (an .npz renamed .npy?)"),
}


@pytest.mark.parametrize("case", list(NPY_HEADER_CASES))
def test_npy_header_is_checked_before_loading(tmp_path, case):
    make, pattern = NPY_HEADER_CASES[case]
    path = tmp_path / f"{case}.npy"
    make(path)
    assert_input_error(path, pattern)


def npy_header(path: Path) -> tuple:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        return np.lib.format.read_array_header_1_0(f)


@pytest.mark.parametrize("layout", ["fortran", "big_endian"])
def test_npy_layouts_read_like_the_plain_array(tmp_path, layout):
    motion = procedural_motion(15, seed=12)
    np.save(tmp_path / "plain.npy", motion.joints)
    other = np.asfortranarray(motion.joints) if layout == "fortran" else motion.joints.astype(">f4")
    np.save(tmp_path / "other.npy", other)
    shape, fortran_order, dtype = npy_header(tmp_path / "other.npy")
    assert fortran_order == (layout == "fortran") and (dtype.byteorder == ">") == (layout == "big_endian")
    assert np.array_equal(load_motion(tmp_path / "other.npy").joints, load_motion(tmp_path / "plain.npy").joints)
