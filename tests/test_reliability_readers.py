"""What the hostile-upload fuzzer (tests/hostile_files.py, tests/hostile_content.py) broke in the readers, each fixed and pinned here:
a 5 MB nest of JSON brackets in a joint mapping (RecursionError), a huge mapping file or joint name (a
message of megabytes), 1e300 values (float overflow warnings, extra lines on the CLI's stderr), a
bit-flipped .npy header (tokenize.TokenError) and numpy's multi-line header message, a NUL in a file
name (ValueError), rows and words far longer than BVH allows (parsed before being refused), and the
server's temp folder in the app's messages."""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError, MotionLexError
from engine.facade import Engine
from engine.motion_io import load_motion
from engine.motion_io.bvh_mapping import MAX_MAPPING_BYTES
from tests.hostile_content import npy_bytes, npy_with_header, procedural_bvh_text


@pytest.fixture(scope="module")
def bvh(tmp_path_factory) -> str:
    return procedural_bvh_text(tmp_path_factory.mktemp("bvh"))


def refused(path, mapping=None, engine: Engine | None = None) -> str:
    """The one-line message a reader (or the facade, with `engine`) gives, with every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MotionLexError) as info:
            (engine.load_file if engine else load_motion)(path, mapping)
    message = str(info.value)
    assert "\n" not in message and len(message) < 2000, message[:500]
    return message


def test_a_mapping_nested_5mb_deep_is_refused_not_a_recursion_error(tmp_path, bvh):
    (tmp_path / "walk.bvh").write_text(bvh)
    for name, text in (("lists.json", "[" * 2_500_000 + "]" * 2_500_000), ("deep.json", "[" * 200_000 + "]" * 200_000)):
        (tmp_path / name).write_text(text)
        message = refused(tmp_path / "walk.bvh", tmp_path / name)
        assert name in message and ("limit" in message or "nests too deep" in message), message


def test_a_huge_mapping_or_joint_name_gives_a_short_message(tmp_path, bvh):
    (tmp_path / "walk.bvh").write_text(bvh)
    (tmp_path / "big.json").write_text(json.dumps({"pelvis": "x" * (MAX_MAPPING_BYTES + 10)}))
    assert "kB limit" in refused(tmp_path / "walk.bvh", tmp_path / "big.json")
    (tmp_path / "long.json").write_text(json.dumps({"pelvis": "y" * 100_000}))
    assert "is not in the rig" in refused(tmp_path / "walk.bvh", tmp_path / "long.json")
    (tmp_path / "name.bvh").write_text(bvh.replace("JOINT l_hip", "JOINT " + "n" * 5_000_000, 1))
    assert "a word of 5000000 characters" in refused(tmp_path / "name.bvh")


@pytest.mark.parametrize("edit", ["values", "offsets"])
def test_1e300_in_a_bvh_is_refused_without_overflow_warnings(tmp_path, bvh, edit):
    head, _, motion = bvh.partition("MOTION")
    lines = motion.split("\n")
    if edit == "values":
        lines[3] = " ".join(["1e300"] * len(lines[3].split()))
        text = head + "MOTION" + "\n".join(lines)
    else:
        text = re.sub(r"OFFSET \S+", "OFFSET 1e300", bvh, count=3)
    (tmp_path / "big.bvh").write_text(text)
    assert "beyond any" in refused(tmp_path / "big.bvh")


def test_1e300_in_an_npy_or_amc_is_refused_without_overflow_warnings(tmp_path):
    (tmp_path / "big.npy").write_bytes(npy_bytes(np.full((10, 22, 3), 1e300)))
    assert "magnitude 1e+300" in refused(tmp_path / "big.npy")
    (tmp_path / "wide.npy").write_bytes(npy_bytes(np.full((10, 22, 3), np.iinfo(np.int64).min, np.int64)))
    assert "beyond any motion" in refused(tmp_path / "wide.npy")   # no integer wrap-around in the check
    from tests.hostile_content import cmu_pair_texts
    asf, amc = cmu_pair_texts()
    (tmp_path / "01.asf").write_text(asf)
    (tmp_path / "01_01.amc").write_text(amc.replace("0.000000000", "1e300", 4))
    assert "AMC data holds a value" in refused(tmp_path / "01_01.amc")
    (tmp_path / "01.asf").write_text(asf.replace("length 0.45", "length 1e-300"))
    assert ":units length must be positive" in refused(tmp_path / "01_01.amc")


def test_mangled_npy_headers_are_one_line_errors(tmp_path):
    cases = {
        "unterminated.npy": npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 22, 3), 'x': (((("),
        "long_header.npy": npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 22, 3), 'p': '"
                                           + "p" * 16000 + "'}", bytes(264)),
        "code.npy": npy_with_header("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (1,), }"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert "not a readable .npy file" in refused(tmp_path / name), name


def test_a_nul_in_a_file_name_is_a_message(tmp_path):
    assert "its name holds a character" in refused(str(tmp_path / "mo\x00tion.bvh"))
    assert "file not found" in refused(str(tmp_path / "mo\x00tion.bvh"), engine=Engine())


def test_overlong_rows_and_lines_are_refused_before_parsing(tmp_path, bvh):
    head = bvh.partition("MOTION")[0]
    (tmp_path / "row.bvh").write_text(head + "MOTION\nFrames: 1\nFrame Time: 0.05\n" + "1.0 " * 2_000_000 + "\n")
    assert "characters long" in refused(tmp_path / "row.bvh")
    from tests.hostile_content import cmu_pair_texts
    asf, amc = cmu_pair_texts()
    (tmp_path / "01.asf").write_text(asf.replace(":bonedata", ":bonedata " + "b" * 100_000, 1))
    (tmp_path / "01_01.amc").write_text(amc)
    assert "characters long: not a ASF file" in refused(tmp_path / "01_01.amc")


def test_the_facade_never_shows_the_folder_of_an_upload(tmp_path, bvh):
    # An upload lives in a server temp folder (/tmp/gradio/<hash>/): messages name the file only.
    upload = tmp_path / "gradio" / "3f9c0e1d"
    upload.mkdir(parents=True)
    (upload / "walk.bvh").write_text(bvh.partition("MOTION")[0])
    (upload / "rig.json").write_text('{"pelvis": "NoSuchJoint"}')
    engine = Engine()
    message = refused(upload / "walk.bvh", engine=engine)
    assert message.startswith("walk.bvh: ") and str(tmp_path) not in message, message
    (upload / "good.bvh").write_text(bvh)
    message = refused(upload / "good.bvh", upload / "rig.json", engine=engine)
    assert message.startswith("rig.json: ") and str(tmp_path) not in message, message
    from tests.hostile_content import cmu_pair_texts
    asf, amc = cmu_pair_texts()
    (upload / "01.asf").write_text(asf.replace("dof rx ry rz", "dof rx ry qq", 1))
    (upload / "01_01.amc").write_text(amc)
    message = refused(upload / "01_01.amc", engine=engine)
    assert message.startswith("01.asf: ") and str(tmp_path) not in message, message
    with pytest.raises(InputError):   # a folder named like a file is still refused, and by name
        engine.load_file(Path(str(upload)) / "missing.bvh")
