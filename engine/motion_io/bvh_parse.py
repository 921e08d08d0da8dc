"""BVH parsing (HIERARCHY + MOTION) and forward kinematics, vectorised over frames.

The parser is strict: anything it cannot read exactly raises InputError(path, problem), because a
half-read motion capture file silently produces a broken skeleton downstream.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..motion import MAX_FILE_BYTES, MAX_FRAMES

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
KNOWN_CHANNELS = {name.lower(): name for name in POSITION_CHANNELS + ROTATION_CHANNELS}


@dataclass
class BvhClip:
    names: list[str]            # joints in file order (parents come before children)
    parents: list[int]          # -1 for the root
    offsets: np.ndarray         # (J, 3) rest offsets from the parent, file units
    channels: list[list[str]]   # per joint, canonical channel names in file order
    frame_time: float           # seconds
    values: np.ndarray          # (F, C) float64 channel values, C = sum of channel counts

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time


class _Tokens:
    """A cursor over the hierarchy's whitespace-separated tokens with clear errors."""

    def __init__(self, text: str, path: str):
        self.items, self.pos, self.path = text.split(), 0, path

    def next(self, what: str) -> str:
        if self.pos >= len(self.items):
            raise InputError(self.path, f"truncated HIERARCHY: expected {what}, found the end")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, word: str) -> None:
        got = self.next(repr(word))
        if got != word:
            raise InputError(self.path, f"malformed HIERARCHY: expected {word!r}, found {got!r}")

    def number(self, what: str) -> float:
        tok = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise InputError(self.path, f"malformed HIERARCHY: {what} {tok!r} is not a number") from None
        if not np.isfinite(value):
            raise InputError(self.path, f"malformed HIERARCHY: {what} is {tok}")
        return value


def _parse_joint(tok: _Tokens, clip: dict, parent: int) -> None:
    """Reads `NAME { OFFSET x y z CHANNELS n ... (JOINT ... | End Site {...})* }` after ROOT/JOINT."""
    name = tok.next("a joint name")
    index = len(clip["names"])
    clip["names"].append(name)
    clip["parents"].append(parent)
    tok.expect("{")
    tok.expect("OFFSET")
    clip["offsets"].append([tok.number(f"OFFSET of {name}") for _ in range(3)])
    tok.expect("CHANNELS")
    count = tok.number(f"channel count of {name}")
    if count != int(count) or not 0 <= count <= 9:
        raise InputError(tok.path, f"joint {name!r} has an invalid channel count {count}")
    channels = []
    for _ in range(int(count)):
        raw = tok.next(f"a channel name of {name}")
        if raw.lower() not in KNOWN_CHANNELS:
            raise InputError(tok.path, f"joint {name!r} has an unknown channel {raw!r}")
        channels.append(KNOWN_CHANNELS[raw.lower()])
    clip["channels"].append(channels)
    while True:
        word = tok.next(f"JOINT, End Site or '}}' in {name}")
        if word == "}":
            return
        if word == "JOINT":
            _parse_joint(tok, clip, index)
        elif word == "End":
            tok.expect("Site")
            tok.expect("{")
            tok.expect("OFFSET")
            for _ in range(3):
                tok.number(f"End Site OFFSET of {name}")
            tok.expect("}")
        else:
            raise InputError(tok.path, f"malformed HIERARCHY: unexpected {word!r} inside joint {name!r}")


def parse_bvh(path: str | os.PathLike) -> BvhClip:
    path = str(path)
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise InputError(path, f"cannot read the file ({err.strerror})") from None
    if size > MAX_FILE_BYTES:  # checked before reading so a huge upload costs nothing
        raise InputError(path, f"file is {size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB limit")
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable BVH text file ({err})") from None

    split = re.search(r"^\s*MOTION\s*$", text, flags=re.MULTILINE)
    if not text.lstrip().startswith("HIERARCHY"):
        raise InputError(path, "not a BVH file: it does not start with HIERARCHY")
    if split is None:
        raise InputError(path, "truncated or malformed BVH: no MOTION section")
    tok = _Tokens(text[:split.start()], path)
    tok.expect("HIERARCHY")
    tok.expect("ROOT")
    clip = {"names": [], "parents": [], "offsets": [], "channels": []}
    _parse_joint(tok, clip, -1)
    if tok.pos != len(tok.items):
        raise InputError(path, f"malformed HIERARCHY: unexpected {tok.items[tok.pos]!r} after the root joint")

    frames, frame_time, rows = _parse_motion_header(text[split.end():], path)
    n_channels = sum(len(c) for c in clip["channels"])
    values = _parse_motion_rows(rows, frames, n_channels, path)
    return BvhClip(clip["names"], clip["parents"], np.array(clip["offsets"], dtype=np.float64),
                   clip["channels"], frame_time, values)


def _parse_motion_header(motion: str, path: str) -> tuple[int, float, list[str]]:
    lines = motion.strip().splitlines()
    m_frames = re.fullmatch(r"\s*Frames:\s*(\S+)\s*", lines[0]) if lines else None
    m_time = re.fullmatch(r"\s*Frame Time:\s*(\S+)\s*", lines[1]) if len(lines) > 1 else None
    if m_frames is None or m_time is None:
        raise InputError(path, "truncated or malformed MOTION header (expected 'Frames:' and 'Frame Time:' lines)")
    try:
        frames, frame_time = int(m_frames.group(1)), float(m_time.group(1))
    except ValueError:
        raise InputError(path, "malformed MOTION header: frame count or frame time is not a number") from None
    if frames <= 0:
        raise InputError(path, "the motion has zero frames")
    if frames > MAX_FRAMES:
        raise InputError(path, f"{frames} frames is more than the limit of {MAX_FRAMES}")
    if not (np.isfinite(frame_time) and 1e-4 <= frame_time <= 10.0):
        raise InputError(path, f"implausible Frame Time {m_time.group(1)} seconds")
    return frames, frame_time, [line for line in lines[2:] if line.strip()]


def _parse_motion_rows(rows: list[str], frames: int, n_channels: int, path: str) -> np.ndarray:
    if len(rows) != frames:
        raise InputError(path, f"frame count mismatch: the header says {frames} frames, the file has {len(rows)}")
    try:
        values = np.loadtxt(rows, dtype=np.float64, ndmin=2)
    except ValueError as err:
        counts = [len(row.split()) for row in rows]
        bad = next((i for i, k in enumerate(counts) if k != n_channels), None)
        if bad is not None:
            raise InputError(path, f"frame {bad + 1} has {counts[bad]} channel values, expected {n_channels} "
                             "(truncated or malformed MOTION data)") from None
        raise InputError(path, f"malformed MOTION data: {str(err).splitlines()[0]}") from None
    if values.shape[1] != n_channels:
        raise InputError(path, f"each frame should hold {n_channels} channel values, found {values.shape[1]}")
    if not np.isfinite(values).all():
        bad = int(np.argwhere(~np.isfinite(values))[0, 0])
        raise InputError(path, f"MOTION data contains NaN or infinite values (first in frame {bad})")
    return values


def axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(F,) angles about X, Y or Z -> (F, 3, 3) right-handed rotation matrices."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    rows = {
        "X": [[one, zero, zero], [zero, c, -s], [zero, s, c]],
        "Y": [[c, zero, s], [zero, one, zero], [-s, zero, c]],
        "Z": [[c, -s, zero], [s, c, zero], [zero, zero, one]],
    }[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def forward_kinematics(clip: BvhClip) -> np.ndarray:
    """Global joint positions (F, J, 3) in file units.

    A joint's rotation channels compose in the order written (`Z X Y` means Rz @ Rx @ Ry).
    Position channels replace the OFFSET (the common convention, e.g. the Bandai-Namco files
    repeat the offset in them), so a joint without them uses its OFFSET.
    """
    n_frames, n_joints = clip.values.shape[0], len(clip.names)
    positions = np.empty((n_frames, n_joints, 3))
    rotations = np.empty((n_frames, n_joints, 3, 3))
    col = 0
    for j, (parent, channels) in enumerate(zip(clip.parents, clip.channels)):
        local_t = np.broadcast_to(clip.offsets[j], (n_frames, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        for name in channels:
            column = clip.values[:, col]
            if name.endswith("position"):
                local_t[:, "XYZ".index(name[0])] = column
            else:
                local_r = local_r @ axis_rotations(name[0], column)
            col += 1
        if parent < 0:
            rotations[:, j], positions[:, j] = local_r, local_t
        else:
            rotations[:, j] = rotations[:, parent] @ local_r
            positions[:, j] = positions[:, parent] + np.einsum("fij,fj->fi", rotations[:, parent], local_t)
    return positions
