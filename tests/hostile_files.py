"""A seeded, bounded fuzzer of hostile motion uploads (no tests here: the reliability tests and
bench/bench_reliability.py use it).

`make_cases(folder, n, seed)` writes about `n` malformed or hostile files into `folder` and returns
them as `Case`s: mutations of the real BVH and .npy samples in ../shared/data/samples (truncated,
bit-flipped, token-edited; left out, with a reason, when that folder is absent) and crafted files
(10,000 nested joints, a channel count of 10^9, 10^7 declared frames, NaN/inf/1e300 values,
non-UTF-8 names, CRLF/tab mixtures, object / pickled / Fortran-order / 0-d / 5-d / huge-shape
.npy, .npz and zip bombs renamed .npy, CMU .amc/.asf garbage, joint mappings that map every joint
to one name or nest 5 MB deep, awkward file names). The same seed gives the same files.

The bytes come from tests/hostile_content.py; tests/hostile_verdicts.py runs the cases through each front
end and judges the answers.
"""
from __future__ import annotations

import io
import json
import pickle
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.hostile_content import (SAMPLES, cmu_pair_texts, deep_asf, flip_bits, mutate_tokens, nested_bvh, npy_bytes,
                                   npy_with_header, procedural_bvh_text, real_sources, wide_bvh, zip_bomb)

MARKER = "mlxfuzz"          # in every generated file name: a leaked copy anywhere is easy to find


@dataclass
class Case:
    """One hostile file on disk: its kind, where it lies (and its joint mapping), whether it must be refused."""
    name: str                 # unique, e.g. "0123-bvh_truncated"
    kind: str                 # the category
    path: Path                # the motion file, as the user names it
    mapping: Path | None = None
    expect: str = "error"     # "error": must be refused; "any": a mutation may still be a valid motion
    note: str = ""

    @property
    def shown_names(self) -> list[str]:
        """Names a clear message may use for this case: the file's (or its mapping's) name."""
        names = [self.path.name]
        if self.mapping is not None:
            names.append(self.mapping.name)
        if self.path.suffix.lower() == ".amc":   # its skeleton, found beside it, is the user's file too
            names.append(self.path.stem + ".asf")
        return names


# ---------------------------------------------------------------------------------------- the cases
def crafted(folder: Path, rng: random.Random) -> list[tuple[str, bytes | str, str, str]]:
    """(kind, content, suffix, expect) of every hand-made hostile file; a few hundred kB in all except
    the bombs, whose compressed bytes are small."""
    bvh = procedural_bvh_text(folder)
    head, _, motion = bvh.partition("MOTION")
    frames = motion.strip().split("\n")[2:]
    asf, amc = cmu_pair_texts()
    good_joints = np.asarray(np.load(SAMPLES / "humanml3d_new_joints_012314.npy", allow_pickle=False)) \
        if (SAMPLES / "humanml3d_new_joints_012314.npy").is_file() else np.zeros((30, 22, 3), np.float32) + 0.5
    e, a = "error", "any"
    cases = [
        # --- BVH: limits before work
        ("bvh_nested_10000_joints", nested_bvh(10_000), ".bvh", e),
        ("bvh_10000_sibling_joints", wide_bvh(10_000), ".bvh", e),
        ("bvh_channel_count_1e9", bvh.replace("CHANNELS 6", "CHANNELS 1000000000", 1).replace("CHANNELS 3", "CHANNELS 1000000000", 1), ".bvh", e),
        ("bvh_channel_count_negative", re.sub(r"CHANNELS \d", "CHANNELS -6", bvh, count=1), ".bvh", e),
        ("bvh_declared_1e7_frames", re.sub(r"Frames:\s*\d+", "Frames: 10000000", bvh), ".bvh", e),
        ("bvh_declared_2e63_frames", re.sub(r"Frames:\s*\d+", "Frames: 9223372036854775808", bvh), ".bvh", e),
        ("bvh_more_rows_than_declared", bvh + "\n".join(frames * 50) + "\n", ".bvh", e),
        ("bvh_fewer_rows_than_declared", head + "MOTION" + motion.rsplit("\n", 5)[0] + "\n", ".bvh", e),
        ("bvh_one_20mb_row", head + "MOTION\nFrames: 1\nFrame Time: 0.05\n" + "1.0 " * 5_000_000 + "\n", ".bvh", e),
        ("bvh_million_blank_lines", bvh + "\n" * 1_000_000, ".bvh", a),   # trailing blank lines: still valid
        ("bvh_5mb_joint_name", bvh.replace("JOINT l_hip", "JOINT " + "n" * 5_000_000, 1), ".bvh", e),
        ("bvh_5mb_first_word", "HIERARCHY" + "H" * 5_000_000 + "\n" + bvh, ".bvh", e),
        ("bvh_5mb_word_after_root", head + "x" * 5_000_000 + "\nMOTION" + motion, ".bvh", e),
        # --- BVH: values
        ("bvh_nan_values", head + "MOTION" + motion.replace(" 0.", " nan", 3), ".bvh", e),
        ("bvh_inf_values", head + "MOTION" + motion.replace(" 0.", " inf", 3), ".bvh", e),
        ("bvh_1e300_values", head + "MOTION" + re.sub(r"-?\d+\.\d+", "1e300", motion, count=40), ".bvh", e),
        ("bvh_1e300_all_values", head + "MOTION" + "\n".join(motion.split("\n")[:3]) + "\n"
         + "\n".join(re.sub(r"-?\d+\.\d+(e[-+]?\d+)?", "1e300", f) for f in frames) + "\n", ".bvh", e),
        ("bvh_nan_offset", bvh.replace("OFFSET", "OFFSET nan", 1), ".bvh", e),
        ("bvh_1e300_offsets", re.sub(r"OFFSET \S+", "OFFSET 1e300", bvh), ".bvh", e),
        ("bvh_zero_offsets", re.sub(r"OFFSET \S+ \S+ \S+", "OFFSET 0 0 0", bvh), ".bvh", a),
        ("bvh_frame_time_zero", re.sub(r"Frame Time:\s*\S+", "Frame Time: 0", bvh), ".bvh", e),
        ("bvh_frame_time_negative", re.sub(r"Frame Time:\s*\S+", "Frame Time: -0.05", bvh), ".bvh", e),
        ("bvh_frame_time_nan", re.sub(r"Frame Time:\s*\S+", "Frame Time: nan", bvh), ".bvh", e),
        ("bvh_frame_time_1e300", re.sub(r"Frame Time:\s*\S+", "Frame Time: 1e300", bvh), ".bvh", e),
        ("bvh_hex_and_comma_numbers", head + "MOTION" + motion.replace(".", ",", 20), ".bvh", e),
        # --- BVH: encodings and line endings
        ("bvh_non_utf8_joint_name", bvh.encode().replace(b"JOINT l_hip", b"JOINT l_h\xe9\xffip", 1), ".bvh", e),
        ("bvh_latin1_names", bvh.encode().replace(b"JOINT ", b"JOINT \xe4", 5), ".bvh", e),
        ("bvh_utf16", bvh.encode("utf-16"), ".bvh", e),
        ("bvh_utf8_bom", b"\xef\xbb\xbf" + bvh.encode(), ".bvh", a),
        ("bvh_crlf", bvh.replace("\n", "\r\n"), ".bvh", a),
        ("bvh_tabs_and_crlf_mixed", "".join(line.replace(" ", "\t") + ("\r\n" if i % 2 else "\n")
                                             for i, line in enumerate(bvh.split("\n"))), ".bvh", a),
        ("bvh_cr_only", bvh.replace("\n", "\r"), ".bvh", a),   # universal newlines read it
        ("bvh_nul_bytes", bvh.replace("OFFSET", "OFF\x00SET", 2), ".bvh", e),
        ("bvh_vertical_tab_formfeed", bvh.replace("\n", "\n\x0b\x0c", 4), ".bvh", a),
        # --- BVH: structure
        ("bvh_empty", b"", ".bvh", e),
        ("bvh_only_keyword", "HIERARCHY", ".bvh", e),
        ("bvh_no_motion_section", head, ".bvh", e),
        ("bvh_motion_only", "MOTION" + motion, ".bvh", e),
        ("bvh_random_binary", bytes(rng.randrange(256) for _ in range(4096)), ".bvh", e),
        ("bvh_missing_closing_braces", head.rsplit("}", 3)[0] + "MOTION" + motion, ".bvh", e),
        ("bvh_extra_root", head + head.replace("HIERARCHY", "") + "MOTION" + motion, ".bvh", e),
        ("bvh_unknown_channel", bvh.replace("Zrotation", "Wrotation", 1), ".bvh", e),
        ("bvh_duplicate_joint_names", re.sub(r"JOINT \S+", "JOINT same", bvh), ".bvh", e),
        ("bvh_unmappable_rig_names", re.sub(r"(ROOT|JOINT) \S+", lambda m: f"{m.group(1)} q{rng.randrange(10**6)}", bvh),
         ".bvh", e),
        ("bvh_html_script", "<script>alert(1)</script>\n" + bvh, ".bvh", e),
        ("bvh_markup_in_joint_name", bvh.replace("JOINT l_hip", "JOINT <img_src=x_onerror=alert(1)>", 1), ".bvh", e),
        # --- .npy
        ("npy_object_dtype", None, ".npy", e),
        ("npy_raw_pickle", pickle.dumps({"a": [1, 2, 3]}, protocol=4), ".npy", e),
        ("npy_pickle_protocol0", b"cos\nsystem\n(S'echo mlxfuzz-pwned'\ntR.", ".npy", e),
        ("npy_fortran_order", npy_bytes(good_joints[:40], fortran=True), ".npy", a),
        ("npy_0d", npy_bytes(np.float32(1.0)), ".npy", e),
        ("npy_5d", npy_bytes(np.zeros((2, 3, 22, 3, 1), np.float32)), ".npy", e),
        ("npy_1d", npy_bytes(np.zeros(66, np.float32)), ".npy", e),
        ("npy_huge_shape_tiny_file", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (10000000000, 22, 3), }"), ".npy", e),
        ("npy_huge_frames_tiny_file", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (10000000, 22, 3), }"), ".npy", e),
        ("npy_huge_width_tiny_file", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 2**40, 3), }"), ".npy", e),
        ("npy_negative_shape", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 22, 3), }"), ".npy", e),
        ("npy_zero_frames", npy_bytes(np.zeros((0, 22, 3), np.float32)), ".npy", e),
        ("npy_truncated_data", npy_bytes(good_joints[:20])[:-100], ".npy", e),
        ("npy_trailing_bytes", npy_bytes(good_joints[:20]) + b"\x00" * 100, ".npy", e),
        ("npy_npz_renamed", None, ".npy", e),
        ("npy_zip_bomb_renamed", zip_bomb(), ".npy", e),
        ("npy_complex", npy_bytes(np.zeros((10, 22, 3), np.complex64)), ".npy", e),
        ("npy_bytes_dtype", npy_bytes(np.zeros((10, 22, 3), "S4")), ".npy", e),
        ("npy_structured", npy_bytes(np.zeros((10, 22), [("x", "<f4"), ("y", "<f4"), ("z", "<f4")])), ".npy", e),
        ("npy_bool", npy_bytes(np.ones((10, 22, 3), bool)), ".npy", e),
        ("npy_datetime", npy_bytes(np.zeros((10, 22, 3), "M8[s]")), ".npy", e),
        ("npy_big_endian", npy_bytes(good_joints[:40].astype(">f4")), ".npy", a),
        ("npy_float16", npy_bytes(good_joints[:40].astype(np.float16)), ".npy", a),
        ("npy_int64", npy_bytes((good_joints[:40] * 1000).astype(np.int64)), ".npy", a),
        ("npy_nan", npy_bytes(np.where(np.arange(good_joints[:40].size).reshape(good_joints[:40].shape) == 7, np.nan,
                                       good_joints[:40]).astype(np.float32)), ".npy", e),
        ("npy_inf", npy_bytes(np.full((10, 22, 3), np.inf, np.float32)), ".npy", e),
        ("npy_1e300_float64", npy_bytes(np.full((10, 22, 3), 1e300)), ".npy", e),
        ("npy_1e38_float32", npy_bytes(np.full((10, 22, 3), 3e38, np.float32) * np.array([1, -1, 1], np.float32)), ".npy", e),
        ("npy_features_1e30", npy_bytes(np.full((30, 263), 1e30, np.float32)), ".npy", e),
        ("npy_features_random", npy_bytes(np.random.default_rng(rng.randrange(1 << 30)).normal(0, 50, (30, 263)).astype(np.float32)), ".npy", a),
        ("npy_constant_joints", npy_bytes(np.zeros((10, 22, 3), np.float32)), ".npy", e),
        ("npy_header_is_code", npy_with_header("{'descr': __import__('os').system('echo mlxfuzz-pwned'), 'fortran_order': False, 'shape': (1,), }"), ".npy", e),
        ("npy_header_unterminated", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 22, 3), "
                                                    "'x': (((("), ".npy", e),
        ("npy_header_nested_parens", npy_with_header("{'descr': '<f4', 'shape': " + "(" * 3000 + ")" * 3000 + "}"), ".npy", e),
        ("npy_header_triple_quote", npy_with_header("{'descr': " + "'" * 3 + "<f4, 'shape': (1,)}"), ".npy", e),
        ("npy_header_over_10000_chars", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 22, 3), "
                                                        "'pad': '" + "p" * 16000 + "'}", bytes(264)), ".npy", e),
        ("npy_header_not_a_dict", npy_with_header("[1, 2, 3]"), ".npy", e),
        ("npy_header_missing_keys", npy_with_header("{'descr': '<f4'}"), ".npy", e),
        ("npy_header_length_huge", b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 100, ".npy", e),
        ("npy_header_v2_length_4gb", b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'", ".npy", e),
        ("npy_header_version_9", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 22, 3), }", bytes(264), (9, 0)), ".npy", e),
        ("npy_header_v3_utf8", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 22, 3), }", bytes(264), (3, 0)), ".npy", e),
        ("npy_magic_only", b"\x93NUMPY", ".npy", e),
        ("npy_text_file", "1 2 3\n4 5 6\n", ".npy", e),
        ("npy_bvh_renamed", bvh, ".npy", e),
        # --- CMU ASF/AMC (the .amc is the motion; its .asf sits beside it under the same stem)
        ("amc_garbage_values", ("amc", amc.replace("0.000000000", "zz", 5), asf), ".amc", e),
        ("amc_random_binary", ("amc", bytes(rng.randrange(256) for _ in range(2048)), asf), ".amc", e),
        ("amc_nan_values", ("amc", amc.replace("0.000000000", "nan", 3), asf), ".amc", e),
        ("amc_1e300_values", ("amc", re.sub(r"-?\d+\.\d{9}", "1e300", amc, count=30), asf), ".amc", e),
        ("amc_missing_bone_line", ("amc", "\n".join(l for l in amc.split("\n") if not l.startswith("lfemur")), asf), ".amc", e),
        ("amc_frame_number_gap", ("amc", amc.replace("\n2\n", "\n7\n", 1), asf), ".amc", e),
        ("amc_no_skeleton_beside", ("amc", amc, None), ".amc", e),
        ("amc_frames_1e7_numbered", ("amc", amc.replace("\n1\n", "\n10000000\n", 1).replace("\n2\n", "\n10000001\n", 1)
                                     .replace("\n3\n", "\n10000002\n", 1), asf), ".amc", a),
        ("asf_garbage", ("amc", amc, "".join(rng.choice(":beginend rx10()\n ") for _ in range(3000))), ".amc", e),
        ("asf_random_binary", ("amc", amc, bytes(rng.randrange(256) for _ in range(3000))), ".amc", e),
        ("asf_cycle", ("amc", amc, asf.replace("  root lowerback", "  lowerback root lowerback", 1)
                       .replace(":hierarchy\n  begin\n", ":hierarchy\n  begin\n    lhumerus lclavicle\n", 1)), ".amc", e),
        ("asf_deep_10000_bones", ("amc", amc, deep_asf(10_000)), ".amc", e),
        ("asf_5mb_line", ("amc", amc, asf.replace(":bonedata", ":bonedata " + "b" * 5_000_000, 1)), ".amc", e),
        ("amc_5mb_bone_name", ("amc", amc.replace("lfemur", "l" * 5_000_000, 1), asf), ".amc", e),
        ("asf_nan_length", ("amc", amc, re.sub(r"length \S+", "length nan", asf, count=1)), ".amc", e),
        ("asf_non_utf8", ("amc", amc, asf.encode().replace(b"lfemur", b"lf\xe9mur", 1)), ".amc", e),
        ("asf_unknown_dof", ("amc", amc, asf.replace("dof rx ry rz", "dof rx ry qq", 1)), ".amc", e),
        # --- joint-mapping JSON beside a valid BVH
        ("mapping_every_joint_to_one_name", ("map", bvh, json.dumps({j: "pelvis" for j in _canonical_names()})), ".bvh", e),
        ("mapping_nested_5mb_lists", ("map", bvh, "[" * 2_500_000 + "]" * 2_500_000), ".bvh", e),
        ("mapping_nested_5mb_objects", ("map", bvh, '{"a":' * 1_000_000 + "1" + "}" * 1_000_000), ".bvh", e),
        ("mapping_not_an_object", ("map", bvh, "[1, 2, 3]"), ".bvh", e),
        ("mapping_unknown_joint", ("map", bvh, json.dumps({"tail": "pelvis"})), ".bvh", e),
        ("mapping_rig_name_absent", ("map", bvh, json.dumps({"pelvis": "NoSuchJoint"})), ".bvh", e),
        ("mapping_non_utf8", ("map", bvh, b'{"pelvis": "\xff\xfe"}'), ".bvh", e),
        ("mapping_huge_string", ("map", bvh, json.dumps({"pelvis": "x" * 3_000_000})), ".bvh", e),
        ("mapping_nan_literal", ("map", bvh, '{"pelvis": NaN}'), ".bvh", e),
        ("mapping_for_an_npy", ("map", npy_bytes(good_joints[:20]), json.dumps({"pelvis": "pelvis"})), ".npy", e),
    ]
    return cases


def _canonical_names() -> list[str]:
    from engine.skeleton import JOINT_NAMES
    return list(JOINT_NAMES)


# Awkward file names (the content is a small valid BVH or a broken one). No NUL: a file system cannot hold
# one; names with NUL and '../' are given to the upload API itself (tests/test_reliability_uploads.py).
ODD_NAMES = ["..mlxfuzz..bvh", "mlxfuzz with spaces.bvh", "mlxfuzz-\u52d5\u304d.bvh", "mlxfuzz'quote\".bvh",
             "mlxfuzz%2e%2e%2fetc.bvh", "mlxfuzz$(touch x).bvh", "mlxfuzz;rm -rf.bvh", "mlxfuzz<b>bold<i>.bvh",
             "MLXFUZZ.BVH", "mlxfuzz.bvh.npy", "mlxfuzz-" + "x" * 200 + ".bvh"]


def make_cases(folder: str | Path, n: int = 1000, seed: int = 0, samples: Path = SAMPLES) -> tuple[list[Case], list[str]]:
    """Write about n hostile files into folder (made if needed); -> (cases, reasons for what was left out).

    Every crafted case is always made (about 110); the rest are mutations of the real samples, or of the
    procedural BVH when the samples are absent (with a reason in the second list)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cases: list[Case] = []
    skipped: list[str] = []

    def add(kind: str, content, suffix: str, expect: str = "error", note: str = "", mapping=None,
            name: str | None = None) -> Case:
        index = len(cases)
        file_name = name or f"{MARKER}-{index:04d}-{kind}{suffix}"
        sub = folder / f"{index:04d}"        # one folder per case: an .amc's skeleton is found beside it
        sub.mkdir(exist_ok=True)
        path = sub / file_name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        case = Case(f"{index:04d}-{kind}", kind, path, mapping, expect, note)
        cases.append(case)
        return case

    for kind, content, suffix, expect in crafted(folder, rng):
        if isinstance(content, tuple):
            role, motion, extra = content
            case = add(kind, motion, suffix, expect)
            if role == "amc" and extra is not None:
                (case.path.parent / (case.path.stem + ".asf")).write_bytes(extra.encode() if isinstance(extra, str) else extra)
            elif role == "map":
                case.mapping = case.path.parent / f"{MARKER}-{len(cases) - 1:04d}-mapping.json"
                case.mapping.write_bytes(extra.encode() if isinstance(extra, str) else extra)
        elif kind == "npy_object_dtype":
            path = folder / "object.npy"
            np.save(path, np.array([{"x": 1}, None], dtype=object), allow_pickle=True)   # the file is the attack
            add(kind, path.read_bytes(), suffix, expect)
            path.unlink()
        elif kind == "npy_npz_renamed":
            buffer = io.BytesIO()
            np.savez(buffer, joints=np.zeros((10, 22, 3), np.float32))
            add(kind, buffer.getvalue(), suffix, expect)
        else:
            add(kind, content, suffix, expect)
    bvh_text = procedural_bvh_text(folder)
    for name in ODD_NAMES:
        broken = rng.random() < 0.5
        add("odd_name", bvh_text[: len(bvh_text) // 3] if broken else bvh_text, Path(name).suffix, "error" if broken else "any",
            name=name)
    # over the size limit without using the disk: a sparse file
    over = add("bvh_over_100mb_sparse", b"HIERARCHY\n", ".bvh")
    with open(over.path, "r+b") as handle:
        handle.truncate(101 * 2 ** 20)

    real_bvh, real_npy, reason = real_sources(samples)
    if reason:
        skipped.append(reason)
    bvh_sources = [p.read_bytes() for p in real_bvh] or [bvh_text.encode()]
    npy_sources = [p.read_bytes() for p in real_npy]
    source = "real" if real_bvh else "procedural"
    while len(cases) < n:
        roll = rng.random()
        if npy_sources and roll < 0.12:
            data = rng.choice(npy_sources)
            if rng.random() < 0.5:
                cut = rng.randrange(len(data))
                add("npy_truncated", data[:cut], ".npy", note=f"real npy cut at {cut}")
            else:
                bits = rng.choice([1, 2, 8, 64])
                add("npy_bit_flipped", flip_bits(data, rng, bits, head_bias=0.8), ".npy", "any", f"{bits} bits")
            continue
        data = rng.choice(bvh_sources)
        if roll < 0.45:
            cut = rng.randrange(len(data))
            add(f"bvh_{source}_truncated", data[:cut], ".bvh", note=f"cut at byte {cut} of {len(data)}")
        elif roll < 0.75:
            bits = rng.choice([1, 2, 4, 8, 32, 256])
            add(f"bvh_{source}_bit_flipped", flip_bits(data, rng, bits), ".bvh", "any", f"{bits} bits")
        else:
            mutated, what = mutate_tokens(data, rng)
            add(f"bvh_{source}_token_edit", mutated, ".bvh", "any", what)
    return cases, skipped


def one_per_kind(cases: list[Case], limit: int | None = None) -> list[Case]:
    """The first case of each kind (a stratified sample for the slower front ends)."""
    seen, out = set(), []
    for case in cases:
        if case.kind not in seen:
            seen.add(case.kind)
            out.append(case)
    return out[:limit]
