"""Map an arbitrary rig's joints onto the canonical 22 by name rules (Bandai, CMU, Mixamo,
iClone/Character Creator, SMPL and the project's own writer), overridable by a user JSON file.

The result is a weight matrix W (22, J): canonical joints = W @ rig joints. A row with a single 1
is a joint taken from the rig; a row with two weights is interpolated (missing spine or collar).
"""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS

SIDES = {"l": "l", "left": "l", "r": "r", "right": "r"}
# Tokens that carry no anatomy: namespaces and rig prefixes (CC_Base_, Bip01, joint_Root, DEF-...).
NOISE = {"cc", "base", "mixamorig", "bip01", "bip", "joint", "jnt", "def", "bn", "bone"}

# Candidate base names per canonical joint, most specific first. Order matters where rigs disagree:
# "Shoulder" is the collar in Bandai/CMU/Mixamo but the upper arm in SMPL (which has "Collar"),
# "Foot" is the ankle in most rigs but the toe in SMPL (which has "Ankle"), so the collar and the
# ankle are resolved first and take the more specific name when it exists.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "pelvis": ("hips", "pelvis", "hip"),
    "hip": ("upleg", "upperleg", "thigh", "hip", "femur"),
    "knee": ("knee", "leg", "lowerleg", "calf", "shin", "tibia"),
    "ankle": ("ankle", "foot"),
    "foot": ("toebase", "toes", "toe", "foot", "ball"),
    "neck": ("neck", "necktwist01", "neck1"),
    "head": ("head",),
    "collar": ("collar", "clavicle", "shoulder"),
    "shoulder": ("upperarm", "arm", "humerus", "shoulder"),
    "elbow": ("elbow", "forearm", "lowerarm", "radius"),
    "wrist": ("wrist", "hand"),
}
UPPER_ARM_NAMES = ("upperarm", "arm", "humerus")
RESOLVE_ORDER = ("pelvis", "neck", "head", "hip", "knee", "ankle", "foot", "collar", "shoulder", "elbow", "wrist")
OPTIONAL = ("spine1", "spine2", "spine3", "l_collar", "r_collar")  # interpolated when absent
# Where spine1..3 sit along the pelvis->neck arc in the SMPL mean body (bone lengths 0.11/0.135/0.053/0.214 m).
SPINE_FRACTIONS = (0.21, 0.48, 0.58)
COLLAR_TOWARDS_SHOULDER = 0.4  # collar = neck + 0.4 (shoulder - neck), as in SMPL's rest pose


def split_name(raw: str) -> tuple[str | None, str]:
    """'mixamorig:LeftUpLeg' -> ('l', 'upleg'); 'CC_Base_R_Calf' -> ('r', 'calf'); 'Spine1' -> (None, 'spine1')."""
    name = raw.split(":")[-1]
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # camelCase -> tokens
    tokens = [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t and t not in NOISE]
    side = None
    if tokens and tokens[0] in SIDES:
        side, tokens = SIDES[tokens[0]], tokens[1:]
    elif tokens and tokens[-1] in SIDES:
        side, tokens = SIDES[tokens[-1]], tokens[:-1]
    base = "".join(tokens)
    if side is None:  # glued sides: 'leftarm', 'armright', CMU ASF 'lfemur', 'LHipJoint'
        known = {n for names in CANDIDATES.values() for n in names}
        for word, s in (("left", "l"), ("right", "r")):
            if base.startswith(word) and len(base) > len(word):
                return s, base[len(word):]
            if base.endswith(word) and len(base) > len(word):
                return s, base[:-len(word)]
        if len(base) > 2 and base[0] in "lr" and base[1:] in known:
            return base[0], base[1:]
    return side, base


def _lerp_row(a: int, b: int, t: float, n: int) -> np.ndarray:
    row = np.zeros(n)
    row[a] += 1.0 - t
    row[b] += t
    return row


MAX_MAPPING_BYTES = 256 * 1024   # 22 pairs of names fit in a few kB: anything far larger is not a mapping
SHOWN_NAMES = 30                 # rig joint names listed in a message (a rig may have hundreds)


def _shown(name: str, limit: int = 60) -> str:
    """A user-supplied name for a message: quoted, and cut when it is long."""
    text = repr(name)
    return text if len(text) <= limit else text[:limit - 5] + "…" + text[-4:]


def name_list(names: list[str]) -> str:
    shown = ", ".join(_shown(n, 40)[1:-1] for n in names[:SHOWN_NAMES])
    return shown + (f", … ({len(names)} in all)" if len(names) > SHOWN_NAMES else "")


def _load_user_mapping(mapping: str | Path, names: list[str], source: str) -> dict[str, int]:
    try:
        size = Path(mapping).stat().st_size
    except (OSError, ValueError) as err:
        raise InputError(mapping, f"cannot read the joint mapping JSON ({getattr(err, 'strerror', None) or err})") from None
    if size > MAX_MAPPING_BYTES:   # checked before reading: a mapping is a few kB
        raise InputError(mapping, f"the joint mapping JSON is {size / 1024:.0f} kB, more than the "
                         f"{MAX_MAPPING_BYTES // 1024} kB limit")
    try:
        user = json.loads(Path(mapping).read_text(encoding="utf-8"))
    except RecursionError:
        raise InputError(mapping, "cannot read the joint mapping JSON (it nests too deep)") from None
    except (OSError, ValueError) as err:
        raise InputError(mapping, f"cannot read the joint mapping JSON ({str(err)[:200]})") from None
    if not isinstance(user, dict) or not all(isinstance(v, str) for v in user.values()):
        raise InputError(mapping, 'a joint mapping must be a JSON object {"canonical_name": "RigJointName"}')
    chosen = {}
    for canonical, rig_name in user.items():
        if canonical not in JOINT_INDEX:
            raise InputError(mapping, f"unknown canonical joint {_shown(canonical)} (expected one of {', '.join(JOINT_NAMES)})")
        if rig_name not in names:
            raise InputError(mapping, f"joint {_shown(rig_name)} is not in the rig of {source}")
        chosen[canonical] = names.index(rig_name)
    return chosen


def _match_by_rules(names: list[str], taken: dict[str, int]) -> dict[str, int]:
    parts = [split_name(n) for n in names]
    used = set(taken.values())
    chosen = dict(taken)
    for kind in RESOLVE_ORDER:
        for side in ((None,) if kind in ("pelvis", "neck", "head") else ("l", "r")):
            canonical = kind if side is None else f"{side}_{kind}"
            if canonical in chosen:
                continue
            for base in CANDIDATES[kind]:
                if kind == "collar" and base == "shoulder" and not any(
                        p == (side, arm) for p in parts for arm in UPPER_ARM_NAMES):
                    continue  # a lone 'Shoulder' is the upper arm (SMPL-like rig without collars)
                hits = [i for i, p in enumerate(parts) if p == (side, base) and i not in used]
                if hits:
                    chosen[canonical] = hits[0]
                    used.add(hits[0])
                    break
    return chosen


def _spine_rows(chosen, parents, pose, n) -> dict[str, int | np.ndarray]:
    """spine1..3 from the rig's pelvis->neck chain: the nearest chain joint (its index) where one
    is near the SMPL arc-length fraction, else an interpolation row between two chain joints.

    The chain is the neck's ancestors up to the first one the pelvis shares: the pelvis itself, or
    the joint above it when the pelvis only carries the legs. Character Creator rigs are so built
    (CC_Base_Hip -> CC_Base_Pelvis -> thighs, CC_Base_Hip -> Waist -> Spine01 -> Spine02 -> neck),
    and their three spine joints then become spine1..3 in that order."""
    pelvis, neck = chosen["pelvis"], chosen["neck"]
    pelvis_line, j = set(), pelvis
    while j != -1:
        pelvis_line.add(j)
        j = parents[j]
    chain, j = [], parents[neck]
    while j != -1 and j not in pelvis_line:
        chain.append(j)
        j = parents[j]
    if j == -1:  # neck and pelvis share no ancestor: walk straight from pelvis to neck
        chain = []
    polyline = [pelvis] + chain[::-1] + [neck]
    seg = np.linalg.norm(np.diff(pose[polyline], axis=0), axis=-1)
    arc = np.concatenate([[0.0], np.cumsum(seg)]) / max(seg.sum(), 1e-9)
    inner = arc[1:-1]
    targets = [f"spine{k}" for k in (1, 2, 3) if f"spine{k}" not in chosen]
    fractions = [SPINE_FRACTIONS[int(t[-1]) - 1] for t in targets]
    # order-preserving assignment of chain joints to spine targets with the least arc-length cost
    best, best_cost = {}, np.inf
    m = min(len(inner), len(targets))
    for joints in itertools.combinations(range(len(inner)), m):
        for slots in itertools.combinations(range(len(targets)), m):
            cost = sum(abs(inner[a] - fractions[b]) for a, b in zip(joints, slots))
            if cost < best_cost:
                best, best_cost = dict(zip(slots, joints)), cost
    rows = {}
    for slot, (target, f) in enumerate(zip(targets, fractions)):
        if slot in best:
            rows[target] = polyline[1 + best[slot]]
        else:
            k = int(np.clip(np.searchsorted(arc, f) - 1, 0, len(seg) - 1))
            t = (f - arc[k]) / max(arc[k + 1] - arc[k], 1e-9)
            rows[target] = _lerp_row(polyline[k], polyline[k + 1], float(t), n)
    return rows


def build_mapping(names: list[str], parents: list[int], pose: np.ndarray, source: str,
                  mapping: str | Path | None = None) -> tuple[np.ndarray, dict[str, str]]:
    """Weights W (22, J) and the report {canonical: rig joint or 'interpolated'}.

    `pose` (J, 3) is one frame of global positions, used to place interpolated spine joints.
    """
    n = len(names)
    chosen = _load_user_mapping(mapping, names, source) if mapping else {}
    chosen = _match_by_rules(names, chosen)
    interpolated = {}
    required = [c for c in JOINT_NAMES if c not in OPTIONAL]
    missing = [c for c in required if c not in chosen]
    if missing:
        raise InputError(source, f"cannot find rig joints for the canonical {', '.join(missing)} "
                         f"(rig joints: {name_list(names)}); pass a joint mapping JSON to name them")
    for canonical, row in _spine_rows(chosen, parents, pose, n).items():
        if isinstance(row, int):
            chosen[canonical] = row
        else:
            interpolated[canonical] = row
    rows = {c: np.eye(n)[i] for c, i in chosen.items()} | interpolated
    for side in ("l", "r"):
        if f"{side}_collar" not in rows:
            rows[f"{side}_collar"] = ((1 - COLLAR_TOWARDS_SHOULDER) * rows["neck"]
                                      + COLLAR_TOWARDS_SHOULDER * rows[f"{side}_shoulder"])
    weights = np.stack([rows[c] for c in JOINT_NAMES])
    report = {c: names[chosen[c]] if c in chosen else "interpolated" for c in JOINT_NAMES}
    assert weights.shape == (NUM_JOINTS, n)
    return weights, report


def apply_mapping(weights: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(F, J, 3) rig positions -> (F, 22, 3) canonical positions."""
    return np.einsum("cj,fjd->fcd", weights, positions)
