"""BVH parsing (HIERARCHY + MOTION) and forward kinematics, vectorised over frames.

The parser is strict: anything it cannot read exactly raises InputError(path, problem), because a
half-read motion capture file silently produces a broken skeleton downstream.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..motion import MAX_FRAMES, MAX_RIG_DEPTH, MAX_RIG_JOINTS
from .textfile import MAX_ABS_VALUE, check_magnitude, read_text

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
    """A lazy cursor over the hierarchy's whitespace-separated tokens with clear errors (lazy so a
    huge HIERARCHY never becomes a huge list)."""

    def __init__(self, text: str, stop: int, path: str):
        self._words, self.path = _WORD.finditer(text, 0, stop), path

    def next(self, what: str) -> str:
        word = next(self._words, None)
        if word is None:
            raise InputError(self.path, f"truncated HIERARCHY: expected {what}, found the end")
        if word.end() - word.start() > MAX_WORD_CHARS:   # no keyword, name or number is this long
            raise InputError(self.path, f"malformed HIERARCHY: expected {what}, found a word of "
                             f"{word.end() - word.start()} characters")
        return word.group()

    def rest(self) -> str | None:
        word = next(self._words, None)
        return None if word is None else word.group()[:60]   # only ever shown in a message

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
        if abs(value) > MAX_ABS_VALUE:
            raise InputError(self.path, f"malformed HIERARCHY: {what} is {tok}, beyond any body "
                             f"(the limit is {MAX_ABS_VALUE:g})")
        return value


_WORD = re.compile(r"\S+")
MAX_WORD_CHARS = 256   # a HIERARCHY word (keyword, joint name, number) longer than this is not BVH


def _open_joint(tok: _Tokens, clip: dict, parent: int) -> str:
    """Reads `NAME { OFFSET x y z CHANNELS n ...` after ROOT/JOINT; returns the name."""
    if len(clip["names"]) >= MAX_RIG_JOINTS:
        raise InputError(tok.path, f"the rig has more than {MAX_RIG_JOINTS} joints, the limit")
    name = tok.next("a joint name")
    clip["names"].append(name)
    clip["parents"].append(parent)
    tok.expect("{")
    tok.expect("OFFSET")
    clip["offsets"].append([tok.number(f"OFFSET of {name}") for _ in range(3)])
    tok.expect("CHANNELS")
    count = tok.number(f"channel count of {name}")
    if count != int(count) or not 0 <= count <= 9:  # before reading them: a count of 10**9 allocates nothing
        raise InputError(tok.path, f"joint {name!r} has an invalid channel count {count:g}")
    channels = []
    for _ in range(int(count)):
        raw = tok.next(f"a channel name of {name}")
        if raw.lower() not in KNOWN_CHANNELS:
            raise InputError(tok.path, f"joint {name!r} has an unknown channel {raw!r}")
        channels.append(KNOWN_CHANNELS[raw.lower()])
    clip["channels"].append(channels)
    return name


def _parse_hierarchy(tok: _Tokens) -> dict:
    """ROOT and its nested JOINT / End Site blocks, read with an explicit stack (not recursion) so
    a deep chain ends in a clear error at MAX_RIG_DEPTH instead of a RecursionError."""
    tok.expect("HIERARCHY")
    tok.expect("ROOT")
    clip = {"names": [], "parents": [], "offsets": [], "channels": []}
    _open_joint(tok, clip, -1)
    open_joints = [0]  # indices of the joints whose '}' is still to come
    while open_joints:
        current = open_joints[-1]
        name = clip["names"][current]
        word = tok.next(f"JOINT, End Site or '}}' in {name}")
        if word == "}":
            open_joints.pop()
        elif word == "JOINT":
            if len(open_joints) >= MAX_RIG_DEPTH:
                raise InputError(tok.path, f"joints are nested more than {MAX_RIG_DEPTH} deep, the limit")
            _open_joint(tok, clip, current)
            open_joints.append(len(clip["names"]) - 1)
        elif word == "End":
            tok.expect("Site")
            tok.expect("{")
            tok.expect("OFFSET")
            for _ in range(3):
                tok.number(f"End Site OFFSET of {name}")
            tok.expect("}")
        else:
            raise InputError(tok.path, f"malformed HIERARCHY: unexpected {word!r} inside joint {name!r}")
    extra = tok.rest()
    if extra is not None:
        raise InputError(tok.path, f"malformed HIERARCHY: unexpected {extra!r} after the root joint")
    return clip


def parse_bvh(path: str | os.PathLike) -> BvhClip:
    path = str(path)
    text = read_text(path, "BVH")
    split = re.search(r"^\s*MOTION\s*$", text, flags=re.MULTILINE)
    if not text.lstrip().startswith("HIERARCHY"):
        raise InputError(path, "not a BVH file: it does not start with HIERARCHY")
    if split is None:
        raise InputError(path, "truncated or malformed BVH: no MOTION section")
    clip = _parse_hierarchy(_Tokens(text, split.start(), path))
    frames, frame_time, body = _parse_motion_header(text, split.end(), path)
    n_channels = sum(len(c) for c in clip["channels"])
    values = _parse_motion_rows(_split_rows(text, body, frames, path), frames, n_channels, path)
    return BvhClip(clip["names"], clip["parents"], np.array(clip["offsets"], dtype=np.float64),
                   clip["channels"], frame_time, values)


_MOTION_HEADER = re.compile(r"\s*Frames:[ \t]*(\S+)[ \t]*\r?\n[ \t]*Frame Time:[ \t]*(\S+)[ \t]*(?:\r?\n|$)")
CHARS_PER_VALUE = 64     # a channel value and its separator never take more (e.g. -1.2345678901234567e+08)
BLANK_LINES_ALLOWED = 64  # blank lines tolerated among the frames (editors leave a few at the end)


def _parse_motion_header(text: str, start: int, path: str) -> tuple[int, float, int]:
    """(frames, frame time, offset of the first frame row), checked before any row is split so a
    header declaring millions of frames costs nothing."""
    match = _MOTION_HEADER.match(text, start)
    if match is None:
        raise InputError(path, "truncated or malformed MOTION header (expected 'Frames:' and 'Frame Time:' lines)")
    try:
        frames, frame_time = int(match.group(1)), float(match.group(2))
    except ValueError:
        raise InputError(path, "malformed MOTION header: frame count or frame time is not a number") from None
    if frames <= 0:
        raise InputError(path, "the motion has zero frames")
    if frames > MAX_FRAMES:
        raise InputError(path, f"{frames} frames is more than the limit of {MAX_FRAMES}")
    if not (np.isfinite(frame_time) and 1e-4 <= frame_time <= 10.0):
        raise InputError(path, f"implausible Frame Time {match.group(2)} seconds")
    return frames, frame_time, match.end()


def _split_rows(text: str, start: int, frames: int, path: str) -> list[str]:
    """The non-blank frame rows; splits at most frames + BLANK_LINES_ALLOWED times, so a file with
    far more lines than its header declares is refused without making a string of each."""
    parts = text[start:].split("\n", frames + BLANK_LINES_ALLOWED)
    if len(parts) > frames + BLANK_LINES_ALLOWED and parts[-1].strip():
        raise InputError(path, f"frame count mismatch: the header says {frames} frames, the file has more")
    return [row for row in (part.strip() for part in parts) if row]


def _parse_motion_rows(rows: list[str], frames: int, n_channels: int, path: str) -> np.ndarray:
    if len(rows) != frames:
        raise InputError(path, f"frame count mismatch: the header says {frames} frames, the file has {len(rows)}")
    longest = max(range(len(rows)), key=lambda i: len(rows[i]))
    if len(rows[longest]) > CHARS_PER_VALUE * (n_channels + 1):   # before parsing: a huge row costs nothing
        raise InputError(path, f"frame {longest + 1} is {len(rows[longest])} characters long, far more than "
                         f"{n_channels} channel values take (malformed MOTION data)")
    try:
        values = np.loadtxt(rows, dtype=np.float64, ndmin=2)
    except ValueError as err:
        counts = [len(row.split()) for row in rows]
        bad = next((i for i, k in enumerate(counts) if k != n_channels), None)
        if bad is not None:
            raise InputError(path, f"frame {bad + 1} has {counts[bad]} channel values, expected {n_channels} "
                             "(truncated or malformed MOTION data)") from None
        raise InputError(path, f"malformed MOTION data: {str(err).splitlines()[0][:200]}") from None
    if values.shape[1] != n_channels:
        raise InputError(path, f"each frame should hold {n_channels} channel values, found {values.shape[1]}")
    if not np.isfinite(values).all():
        bad = int(np.argwhere(~np.isfinite(values))[0, 0])
        raise InputError(path, f"MOTION data contains NaN or infinite values (first in frame {bad})")
    check_magnitude(values, path, "MOTION data")
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


FK_CHUNK = 1 << 18  # joint-frames per pass: bounds the rotation matrices held at once for any rig


def in_chunks(n_frames: int, n_joints: int, compute: Callable[[slice], np.ndarray]) -> np.ndarray:
    """compute(frames) over consecutive frame slices of about FK_CHUNK joint-frames, concatenated,
    so forward kinematics of a long clip of a large rig never holds every frame's matrices."""
    step = max(1, FK_CHUNK // max(n_joints, 1))
    return np.concatenate([compute(slice(s, s + step)) for s in range(0, n_frames, step)])


def forward_kinematics(clip: BvhClip, reduce: Callable[[np.ndarray], np.ndarray] | None = None,
                       frames: slice = slice(None)) -> np.ndarray:
    """Global joint positions (F, J, 3) in file units, computed chunk by chunk.

    A joint's rotation channels compose in the order written (`Z X Y` means Rz @ Rx @ Ry).
    Position channels replace the OFFSET (the common convention, e.g. the Bandai-Namco files
    repeat the offset in them), so a joint without them uses its OFFSET. `reduce` maps each
    chunk (e.g. to the canonical joints) so only its result is kept; `frames` selects frames.
    """
    values = clip.values[frames]
    reduce = reduce or (lambda positions: positions)
    return in_chunks(len(values), len(clip.names), lambda part: reduce(_fk(clip, values[part])))


def _fk(clip: BvhClip, values: np.ndarray) -> np.ndarray:
    n_frames, n_joints = values.shape[0], len(clip.names)
    positions = np.empty((n_frames, n_joints, 3))
    rotations = np.empty((n_frames, n_joints, 3, 3))
    col = 0
    for j, (parent, channels) in enumerate(zip(clip.parents, clip.channels)):
        local_t = np.broadcast_to(clip.offsets[j], (n_frames, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        for name in channels:
            column = values[:, col]
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
