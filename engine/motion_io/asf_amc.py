"""ASF/AMC, the Acclaim format of CMU's motion-capture library: the ASF skeleton, the AMC per-frame
dof values, and forward kinematics to the end point of every bone.

Conventions, as the Acclaim definition and CMU's own viewer use them:
- a bone runs from its parent's end along `direction` (world axes, at rest) for `length`, and the
  joint it stands for is its END: lfemur ends at the knee, ltibia at the ankle;
- `axis ax ay az XYZ` is the bone's local frame C; the letters apply in the order written (X first
  for "XYZ"), and so do a frame's dofs (for `dof rx ry rz`, rx first);
- a bone's world rotation is L = L_parent C M C^-1 (M: the frame's dofs), its end is the parent's
  end + L direction length;
- the root's AMC values follow its `order` line and its rotations apply in that order; its
  `position` and `orientation` (applied in its `axis` order) pre-set the whole capture;
- `:units length k`: file lengths divided by k are the skeleton's unit (CMU: inches); `angle` is
  the ASF's angle unit, and the AMC's unless the AMC says :DEGREES or :RADIANS.

The parsers are strict like the BVH one: a half-read skeleton silently breaks every frame, so any
doubt ends in one InputError naming the file and the problem. Limits come before the work they
bound (file size before reading, bone count while reading bones, frames while reading frames).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from ..errors import InputError
from ..motion import MAX_FRAMES, MAX_RIG_DEPTH, MAX_RIG_JOINTS
from ..skeleton import FPS
from .bvh_parse import axis_rotations, in_chunks
from .textfile import MAX_ABS_VALUE, check_magnitude, iter_lines

CMU_FPS = 120.0  # AMC files do not state their rate; CMU captured at 120 fps
ROTATIONS = ("rx", "ry", "rz")
TRANSLATIONS = ("tx", "ty", "tz")
KNOWN_DOFS = ROTATIONS + TRANSLATIONS + ("l",)
MAX_LINE_CHARS = 1024   # an ASF or AMC line (a bone's key and a few numbers) is far shorter
BONE_KEYS = ("id", "name", "direction", "length", "axis", "dof", "limits", "bodymass", "cofmass")


@dataclass
class AsfSkeleton:
    names: list[str]               # "root" first, then the bones, parents before children
    parents: list[int]             # -1 for the root
    offsets: np.ndarray            # (B, 3) direction * length in skeleton units, parent end -> own end
    axes: np.ndarray               # (B, 3, 3) each bone's local frame C (identity for the root)
    dofs: list[tuple[str, ...]]    # per bone, its AMC values in order (the root's from its order line)
    root_position: np.ndarray      # (3,) skeleton units
    root_orientation: np.ndarray   # (3, 3)
    length_unit: float             # the `:units length` divisor, also applied to the root's translation
    degrees: bool                  # the ASF's angle unit

    def columns(self) -> list[int]:
        """Where each bone's values start in a frame row."""
        return list(accumulate((len(d) for d in self.dofs), initial=0))[:-1]


def rotation(letters: str, degrees: np.ndarray) -> np.ndarray:
    """(F, k) angles about the axes named by `letters` (e.g. "XYZ"), applied in that order
    (the first letter acts first) -> (F, 3, 3)."""
    out = np.broadcast_to(np.eye(3), (degrees.shape[0], 3, 3))
    for k, letter in enumerate(letters.upper()):
        out = axis_rotations(letter, degrees[:, k]) @ out
    return out


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _tokens(line: str) -> list[str]:
    """A line without its comment; commas and parentheses count as spaces (Acclaim's rule)."""
    return line.split("#", 1)[0].replace(",", " ").replace("(", " ").replace(")", " ").split()


class _AsfReader:
    """Line-by-line state of an ASF being read: the section, the bone being read, what is done."""

    def __init__(self, path: str):
        self.path, self.line = path, 0
        self.section, self.seen = None, set()
        self.bone, self.bones, self.last_key = None, [], None
        self.hierarchy, self.hierarchy_state = [], None   # None -> "open" -> "closed"
        self.units = {"mass": 1.0, "length": 1.0, "angle": "deg"}
        self.root = {"order": ("tx", "ty", "tz", "rx", "ry", "rz"), "axis": "XYZ",
                     "position": (0.0, 0.0, 0.0), "orientation": (0.0, 0.0, 0.0)}

    def fail(self, problem: str):
        raise InputError(self.path, f"line {self.line}: {problem}")

    def numbers(self, tokens: list[str], count: int, what: str) -> list[float]:
        if len(tokens) != count:
            self.fail(f"{what} needs {count} number{'s' * (count > 1)}, found {len(tokens)}")
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            self.fail(f"{what} is not a number ({' '.join(tokens)})")
        if not np.isfinite(values).all():
            self.fail(f"{what} is not finite ({' '.join(tokens)})")
        if max(abs(v) for v in values) > MAX_ABS_VALUE:
            self.fail(f"{what} is beyond any body ({' '.join(tokens)}; the limit is {MAX_ABS_VALUE:g})")
        return values

    def order(self, token: str, what: str) -> str:
        if sorted(token.upper()) != ["X", "Y", "Z"]:
            self.fail(f"{what} order {token!r} is not an ordering of X, Y and Z")
        return token.upper()

    def feed(self, line: str) -> None:
        self.line += 1
        tokens = _tokens(line)
        if not tokens:
            return
        if tokens[0].startswith(":"):
            if self.bone is not None:
                self.fail(f"bone {self.bone.get('name', '?')!r} has no 'end' before {tokens[0]}")
            self.section = tokens[0][1:].lower()
            if self.section in self.seen:
                self.fail(f"a second {tokens[0]} section")
            self.seen.add(self.section)
            return
        handler = {"units": self.unit_line, "root": self.root_line, "bonedata": self.bone_line,
                   "hierarchy": self.hierarchy_line}.get(self.section)
        if self.section is None:
            raise InputError(self.path, "not an ASF skeleton file: it does not start with a ':keyword' line")
        if handler is not None:  # :version, :name, :documentation and unknown sections carry nothing needed
            handler(tokens[0], tokens[1:])

    def unit_line(self, key: str, args: list[str]) -> None:
        key = key.lower()
        if key in ("mass", "length"):
            value = self.numbers(args, 1, f":units {key}")[0]
            if not 1.0 / MAX_ABS_VALUE <= value:   # file lengths are divided by it
                self.fail(f":units {key} must be positive (at least {1.0 / MAX_ABS_VALUE:g}), found {value:g}")
            self.units[key] = value
        elif key == "angle" and len(args) == 1 and args[0].lower() in ("deg", "rad"):
            self.units["angle"] = args[0].lower()
        else:
            self.fail(f"unknown :units line {' '.join([key, *args])!r} (expected mass, length or angle deg|rad)")

    def root_line(self, key: str, args: list[str]) -> None:
        key = key.lower()
        if key == "order":
            dofs = tuple(a.lower() for a in args)
            if not set(dofs) <= set(ROTATIONS + TRANSLATIONS) or len(set(dofs)) != len(dofs):
                self.fail(f"root order {' '.join(args)!r} must name each of TX TY TZ RX RY RZ at most once")
            self.root["order"] = dofs
        elif key == "axis" and len(args) == 1:
            self.root["axis"] = self.order(args[0], "root axis")
        elif key in ("position", "orientation"):
            self.root[key] = tuple(self.numbers(args, 3, f"root {key}"))
        else:
            self.fail(f"unknown :root line {key!r} (expected order, axis, position or orientation)")

    def bone_line(self, key: str, args: list[str]) -> None:
        key = key.lower()
        if key == "begin":
            if self.bone is not None:
                self.fail(f"bone {self.bone.get('name', '?')!r} has no 'end' before the next 'begin'")
            if len(self.bones) + 1 >= MAX_RIG_JOINTS:  # the root counts as one
                raise InputError(self.path, f"the skeleton has more than {MAX_RIG_JOINTS} bones, the limit")
            self.bone, self.last_key = {"line": self.line}, None
            return
        if self.bone is None:
            self.fail(f"expected 'begin' of a bone, found {key!r}")
        if key == "end":
            self.bones.append(self.close_bone(self.bone))
            self.bone = None
        elif key in BONE_KEYS:
            if key in self.bone:
                self.fail(f"a second {key!r} line in one bone")
            self.bone[key], self.last_key = self.bone_value(key, args), key
        elif self.last_key == "limits" and _is_number(key):  # limits go on one "(min max)" pair a line
            pass
        else:
            self.fail(f"unknown line {key!r} in bone {self.bone.get('name', '?')!r}")

    def bone_value(self, key: str, args: list[str]):
        name = self.bone.get("name", "?")
        if key == "name":
            if len(args) != 1 or args[0] == "root":
                self.fail(f"a bone needs one name other than 'root', found {' '.join(args)!r}")
            return args[0]
        if key == "direction":
            return self.numbers(args, 3, f"direction of bone {name!r}")
        if key == "length":
            value = self.numbers(args, 1, f"length of bone {name!r}")[0]
            if value < 0:
                self.fail(f"bone {name!r} has a negative length")
            return value
        if key == "axis":
            if len(args) != 4:
                self.fail(f"axis of bone {name!r} needs three angles and an order such as XYZ")
            return self.numbers(args[:3], 3, f"axis of bone {name!r}"), self.order(args[3], f"axis of bone {name!r}")
        if key == "dof":
            dofs = tuple(a.lower() for a in args)
            for dof in dofs:
                if dof not in KNOWN_DOFS:
                    self.fail(f"bone {name!r} has an unknown dof {dof!r} (expected rx, ry, rz)")
                if dof not in ROTATIONS:
                    self.fail(f"bone {name!r} has the dof {dof!r}: only rotations (rx, ry, rz) are supported on bones")
            if len(set(dofs)) != len(dofs):
                self.fail(f"bone {name!r} repeats a dof")
            return dofs
        return args  # id, limits, bodymass, cofmass: not needed for positions

    def close_bone(self, bone: dict) -> dict:
        for key in ("name", "direction", "length"):
            if key not in bone:
                raise InputError(self.path, f"line {bone['line']}: the bone has no {key!r} line")
        if any(b["name"] == bone["name"] for b in self.bones):
            self.fail(f"a second bone named {bone['name']!r}")
        norm = float(np.linalg.norm(bone["direction"]))
        if norm == 0 and bone["length"] > 0:
            self.fail(f"bone {bone['name']!r} has a zero direction")
        bone["direction"] = np.array(bone["direction"]) / (norm or 1.0)
        return bone

    def hierarchy_line(self, key: str, args: list[str]) -> None:
        if key.lower() == "begin" and self.hierarchy_state is None:
            self.hierarchy_state = "open"
        elif key.lower() == "end" and self.hierarchy_state == "open":
            self.hierarchy_state = "closed"
        elif self.hierarchy_state == "open":
            self.hierarchy.append((self.line, [key, *args]))
        else:
            self.fail(f"unexpected {key!r} outside the hierarchy's begin/end")


def parse_asf(path: str | os.PathLike) -> AsfSkeleton:
    path = str(path)
    reader = _AsfReader(path)
    for _, line in iter_lines(path, "ASF", MAX_LINE_CHARS):
        reader.feed(line)
    if reader.bone is not None:
        raise InputError(path, f"truncated ASF: bone {reader.bone.get('name', '?')!r} has no 'end'")
    if not reader.bones:
        raise InputError(path, "the ASF skeleton has no bones (no :bonedata section with begin/end blocks)")
    if reader.hierarchy_state != "closed":
        raise InputError(path, "truncated ASF: no complete :hierarchy section (begin ... end)")
    bones = {b["name"]: b for b in reader.bones}
    order, parent_of = _tree_order(reader.hierarchy, bones, path)
    names = ["root", *order]
    index = {n: i for i, n in enumerate(names)}
    to_degrees = 1.0 if reader.units["angle"] == "deg" else float(np.degrees(1.0))
    scale = 1.0 / reader.units["length"]
    offsets, axes = [np.zeros(3)], [np.eye(3)]
    for name in order:
        bone = bones[name]
        angles, letters = bone.get("axis", ([0.0, 0.0, 0.0], "XYZ"))
        offsets.append(bone["direction"] * bone["length"] * scale)
        axes.append(rotation(letters, np.array([angles]) * to_degrees)[0])
    root = reader.root
    return AsfSkeleton(
        names=names, parents=[-1] + [index[parent_of[n]] for n in order],
        offsets=np.array(offsets), axes=np.array(axes),
        dofs=[root["order"]] + [bones[n].get("dof", ()) for n in order],
        root_position=np.array(root["position"]) * scale,
        root_orientation=rotation(root["axis"], np.array([root["orientation"]]) * to_degrees)[0],
        length_unit=reader.units["length"], degrees=reader.units["angle"] == "deg")


def _tree_order(lines: list, bones: dict, path: str) -> tuple[list[str], dict[str, str]]:
    """Bones parents-first from the hierarchy lines, refusing unknown names, a bone with two
    parents, cycles, unattached bones and nesting deeper than MAX_RIG_DEPTH; no recursion."""
    parent_of, children = {}, {"root": []}
    for line, (parent, *kids) in lines:
        for name in (parent, *kids):
            if name != "root" and name not in bones:
                raise InputError(path, f"line {line}: the hierarchy names an unknown bone {name!r}")
        for kid in kids:
            if kid == "root" or kid in parent_of:
                raise InputError(path, f"line {line}: bone {kid!r} is given a second parent")
            parent_of[kid] = parent
            children.setdefault(parent, []).append(kid)
    order, frontier, depth = [], ["root"], 0
    while frontier:
        depth += 1
        if depth > MAX_RIG_DEPTH:
            raise InputError(path, f"bones are nested more than {MAX_RIG_DEPTH} deep, the limit")
        frontier = [kid for name in frontier for kid in children.get(name, [])]
        order += frontier
    placed = set(order)
    unplaced = [name for name in bones if name not in placed]
    cyclic = [name for name in unplaced if name in parent_of]
    if cyclic:
        raise InputError(path, f"the hierarchy has a cycle (through {', '.join(cyclic)})")
    if unplaced:
        raise InputError(path, f"bones {', '.join(unplaced)} are not in the hierarchy")
    return order, parent_of


@dataclass
class AmcClip:
    values: np.ndarray   # (F, C) float64: each frame's dofs bone by bone in skeleton order, angles in degrees
    fps: float
    first_frame: int     # the number the AMC gives its first frame


def parse_amc(path: str | os.PathLike, skeleton: AsfSkeleton, fps: float = CMU_FPS) -> AmcClip:
    """The AMC's frames; at most MAX_FRAMES after resampling to 20 fps, counted while reading."""
    path = str(path)
    max_frames = int(MAX_FRAMES * fps / FPS)
    starts = skeleton.columns()
    where = {n: (s, len(d)) for n, s, d in zip(skeleton.names, starts, skeleton.dofs)}
    moving = {n for n, d in zip(skeleton.names, skeleton.dofs) if d}
    n_cols = sum(len(d) for d in skeleton.dofs)
    rows, row, seen, number, degrees, first = [], None, set(), None, skeleton.degrees, None

    def close_frame():
        if row is not None:
            if moving - seen:
                lacking = ", ".join(n for n in skeleton.names if n in moving - seen)
                raise InputError(path, f"truncated or malformed AMC: frame {number} lacks bones {lacking}")
            rows.append(row)

    for line_no, line in iter_lines(path, "AMC", MAX_LINE_CHARS):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        if tokens[0].startswith(":"):
            if number is not None:
                raise InputError(path, f"line {line_no}: {tokens[0]} after the first frame")
            degrees = {":DEGREES": True, ":RADIANS": False}.get(tokens[0].upper(), degrees)
            continue
        if len(tokens) == 1 and tokens[0].isascii() and tokens[0].isdigit():
            close_frame()
            if number is not None and int(tokens[0]) != number + 1:
                raise InputError(path, f"line {line_no}: frame {tokens[0]} follows frame {number} (frames missing)")
            if len(rows) >= max_frames:
                raise InputError(path, f"more than {max_frames} frames at {fps:g} fps, the limit "
                                 f"({MAX_FRAMES} frames at {FPS:g} fps)")
            number = int(tokens[0])
            first = number if first is None else first
            row, seen = np.empty(n_cols), set()
            continue
        name, text = tokens[0], tokens[1:]
        if row is None:
            raise InputError(path, f"line {line_no}: values of {name!r} before the first frame number")
        if name not in where:
            raise InputError(path, f"line {line_no}: unknown bone {name!r} (not in the ASF skeleton)")
        start, count = where[name]
        if len(text) != count or name in seen:
            problem = f"a second line for {name!r}" if name in seen else \
                f"{name!r} has {len(text)} values, the skeleton gives it {count} dofs"
            raise InputError(path, f"line {line_no}: frame {number}: {problem} (truncated or malformed AMC)")
        try:
            row[start:start + count] = [float(t) for t in text]
        except ValueError:
            raise InputError(path, f"line {line_no}: a value of {name!r} is not a number") from None
        seen.add(name)
    close_frame()
    if not rows:
        raise InputError(path, "the motion has zero frames")
    values = np.stack(rows)
    if not np.isfinite(values).all():
        bad = int(np.argwhere(~np.isfinite(values))[0, 0])
        raise InputError(path, f"AMC data contains NaN or infinite values (first in frame {first + bad})")
    check_magnitude(values, path, "AMC data")
    if not degrees:
        turns = np.array([d in ROTATIONS for dofs in skeleton.dofs for d in dofs], dtype=bool)
        values[:, turns] = np.degrees(values[:, turns])
    return AmcClip(values=values, fps=fps, first_frame=first)


def forward_kinematics(skeleton: AsfSkeleton, clip: AmcClip,
                       reduce: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """(F, B, 3) positions in skeleton units: the root's, then each bone's end; chunk by chunk,
    `reduce` mapping each chunk (e.g. to the canonical joints) so only its result is kept."""
    reduce = reduce or (lambda positions: positions)
    return in_chunks(len(clip.values), len(skeleton.names),
                     lambda part: reduce(_bone_ends(skeleton, clip.values[part])))


def _bone_ends(skeleton: AsfSkeleton, values: np.ndarray) -> np.ndarray:
    n_frames, n_bones = values.shape[0], len(skeleton.names)
    ends = np.empty((n_frames, n_bones, 3))
    turns = np.empty((n_frames, n_bones, 3, 3))
    for b, (parent, dofs, start) in enumerate(zip(skeleton.parents, skeleton.dofs, skeleton.columns())):
        own = values[:, start:start + len(dofs)]
        spins = [k for k, d in enumerate(dofs) if d in ROTATIONS]
        motion = rotation("".join(dofs[k][1] for k in spins), own[:, spins])
        if parent < 0:
            shift = np.zeros((n_frames, 3))
            for k, d in enumerate(dofs):
                if d in TRANSLATIONS:
                    shift[:, TRANSLATIONS.index(d)] = own[:, k] / skeleton.length_unit
            turns[:, b] = skeleton.root_orientation @ motion
            ends[:, b] = skeleton.root_position + shift @ skeleton.root_orientation.T
        else:
            frame = skeleton.axes[b]
            turns[:, b] = turns[:, parent] @ (frame @ motion @ frame.T)
            ends[:, b] = ends[:, parent] + turns[:, b] @ skeleton.offsets[b]
    return ends
