"""The raw material of the hostile-upload fuzzer (tests/hostile_files.py), no tests here: valid sources to start
from (the real samples in ../shared/data/samples, a procedural BVH, a CMU ASF/AMC pair), builders of crafted
bytes (.npy files with hand-written headers, zip bombs, BVH files nested or wide beyond any rig, a 10,000-bone
ASF chain) and the mutations applied to real files (token edits, bit flips). The reader tests
(tests/test_reliability_readers.py) use some of the builders directly.
"""
from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "data" / "samples"


# ---------------------------------------------------------------------------------------- sources
def real_sources(samples: Path = SAMPLES) -> tuple[list[Path], list[Path], str | None]:
    """(real BVH files, real .npy files, reason when they are absent)."""
    if not samples.is_dir():
        return [], [], f"real samples not found at {samples}: mutations of real files left out"
    bvh = sorted(samples.glob("*.bvh"))
    npy = sorted(samples.glob("*.npy"))
    return bvh, npy, None if bvh and npy else f"no .bvh or .npy samples in {samples}"


def procedural_bvh_text(folder: Path) -> str:
    """A valid 22-joint BVH written by the project's own writer from a procedural motion (always available)."""
    try:
        from fixtures.motion_io.procedural import procedural_motion
    except ImportError:
        from tests.fixtures.motion_io.procedural import procedural_motion
    from engine.motion_io.bvh_write import write_bvh

    path = folder / "procedural-source.bvh.txt"
    write_bvh(procedural_motion(24, seed=5), path)
    return path.read_text()


def cmu_pair_texts() -> tuple[str, str]:
    """A valid CMU-named ASF skeleton and a 3-frame AMC (the ASF/AMC tests' writer)."""
    try:
        from test_motion_io_asf_amc import amc_text, asf_text
    except ImportError:
        from tests.test_motion_io_asf_amc import amc_text, asf_text
    return asf_text(), amc_text([{}, {"root": {"ry": 10.0}}, {"lfemur": [20.0, 0.0, 0.0]}])


# ---------------------------------------------------------------------------------------- helpers
def npy_bytes(array: np.ndarray, fortran: bool = False) -> bytes:
    """`array` as the bytes of a .npy file (numpy's own writer, no pickles), C or Fortran order."""
    buffer = io.BytesIO()
    np.save(buffer, np.asfortranarray(array) if fortran else array, allow_pickle=False)
    return buffer.getvalue()


def npy_with_header(header: str | bytes, data: bytes = b"", version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy file with a hand-written header dict (padded as numpy pads it)."""
    raw = header.encode("latin-1") if isinstance(header, str) else header
    length_bytes = 2 if version == (1, 0) else 4
    pad = (-(6 + 2 + length_bytes + len(raw) + 1)) % 64
    raw = raw + b" " * pad + b"\n"
    size = struct.pack("<H" if length_bytes == 2 else "<I", len(raw))
    return b"\x93NUMPY" + bytes(version) + size + raw + data


def zip_bomb(member_mb: int = 256) -> bytes:
    """A zip with one member of `member_mb` MB of zeros, deflated to about a thousandth of that."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("arr_0.npy", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(member_mb):
                member.write(chunk)
    return out.getvalue()


def nested_bvh(depth: int) -> str:
    """A chain of `depth` nested joints (no MOTION rows needed: the limit is hit first)."""
    parts = ["HIERARCHY\nROOT j0\n{\n OFFSET 0 0 0\n CHANNELS 3 Zrotation Xrotation Yrotation\n"]
    parts += [f"JOINT j{i}\n{{\n OFFSET 0 1 0\n CHANNELS 3 Zrotation Xrotation Yrotation\n" for i in range(1, depth)]
    parts += ["}\n"] * depth
    return "".join(parts) + "MOTION\nFrames: 1\nFrame Time: 0.05\n" + " ".join(["0"] * (3 * depth)) + "\n"


def wide_bvh(width: int) -> str:
    """A root with `width` sibling joints."""
    joints = "".join(f"JOINT k{i}\n{{\n OFFSET 0 1 0\n CHANNELS 1 Zrotation\n End Site\n {{\n OFFSET 0 1 0\n }}\n}}\n"
                     for i in range(width))
    return ("HIERARCHY\nROOT r\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n" + joints + "}\n"
            "MOTION\nFrames: 1\nFrame Time: 0.05\n" + " ".join(["0"] * (3 + width)) + "\n")


_NUMBER = re.compile(rb"-?\d+\.\d+")
POISON_TOKENS = [b"nan", b"NaN", b"inf", b"-inf", b"1e300", b"-1e300", b"1e-320", b"0x1F", b"1,5", b"",
                 b"99999999999999999999999999", b"--1", b"1e", b"\xff\xfe", b"\x00", b"+-0"]
FRAME_COUNTS = [b"0", b"-1", b"10000000", b"9223372036854775808", b"abc", b"1e3", b"20001", b"3.5", b""]
FRAME_TIMES = [b"0", b"-0.033", b"nan", b"inf", b"1e-300", b"1e300", b"abc", b""]


def mutate_tokens(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One structural or numeric edit of a text motion file; returns (new bytes, what was done)."""
    lines = data.split(b"\n")
    op = rng.choice(["poison", "poison", "delete_line", "duplicate_line", "swap_lines", "channels", "frames",
                     "frame_time", "insert_bytes", "unbalanced", "keyword_case"])
    if op == "poison":
        numbers = list(_NUMBER.finditer(data))
        if numbers:
            m = rng.choice(numbers)
            token = rng.choice(POISON_TOKENS)
            return data[:m.start()] + token + data[m.end():], f"number at byte {m.start()} -> {token!r}"
        op = "delete_line"
    if op in ("delete_line", "duplicate_line", "swap_lines") and len(lines) > 2:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        if op == "delete_line":
            del lines[i]
        elif op == "duplicate_line":
            lines.insert(i, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines), f"{op} {i} {j}"
    if op == "channels":
        value = rng.choice([b"0", b"-3", b"7", b"10", b"1000000000", b"2.5", b"x"])
        return re.sub(rb"CHANNELS \d+", b"CHANNELS " + value, data, count=rng.randint(1, 3)), f"CHANNELS -> {value!r}"
    if op == "frames":
        value = rng.choice(FRAME_COUNTS)
        return re.sub(rb"Frames:\s*\S+", b"Frames: " + value, data, count=1), f"Frames -> {value!r}"
    if op == "frame_time":
        value = rng.choice(FRAME_TIMES)
        return re.sub(rb"Frame Time:\s*\S+", b"Frame Time: " + value, data, count=1), f"Frame Time -> {value!r}"
    if op == "insert_bytes":
        at = rng.randrange(len(data) + 1)
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        return data[:at] + junk + data[at:], f"{len(junk)} random bytes at {at}"
    if op == "unbalanced":
        at = data.find(b"JOINT", rng.randrange(max(1, len(data) // 4)))
        at = at if at >= 0 else 0
        return data[:at] + rng.choice([b"{\n", b"}\n", b"JOINT x\n{\n", b"End Site\n"]) + data[at:], "brace/keyword inserted"
    word = rng.choice([b"HIERARCHY", b"ROOT", b"JOINT", b"OFFSET", b"CHANNELS", b"MOTION", b"End Site", b"Frames:"])
    return data.replace(word, word.lower(), 1), f"{word!r} lower-cased"


def flip_bits(data: bytes, rng: random.Random, bits: int, head_bias: float = 0.5) -> bytes:
    """Flip `bits` random bits; with probability head_bias each lands in the first 8 kB (the header)."""
    out = bytearray(data)
    for _ in range(bits):
        span = min(len(out), 8192) if rng.random() < head_bias else len(out)
        i = rng.randrange(span)
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def deep_asf(depth: int) -> str:
    """An ASF whose bones form one chain `depth` deep."""
    bones = "".join(f"  begin\n     id {i}\n     name b{i}\n     direction 0 1 0\n     length 1\n     axis 0 0 0 XYZ\n"
                    f"     dof rx\n  end\n" for i in range(1, depth + 1))
    chain = "".join(f"    {'root' if i == 1 else f'b{i - 1}'} b{i}\n" for i in range(1, depth + 1))
    return (":version 1.10\n:name deep\n:units\n  mass 1.0\n  length 0.45\n  angle deg\n:root\n   order TX TY TZ RX RY RZ\n"
            "   axis XYZ\n   position 0 0 0\n   orientation 0 0 0\n:bonedata\n" + bones + ":hierarchy\n  begin\n" + chain + "  end\n")


