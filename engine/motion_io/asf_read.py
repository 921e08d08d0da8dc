"""read_amc: a CMU AMC motion and its ASF skeleton -> the canonical Motion (22 joints, metres,
Y up, 20 fps, canonicalized).

The canonical joints come from an explicit table of CMU bone names, not from bvh_mapping's name
rules: an ASF position is the END of a bone (lfemur ends at the knee), while the rules read a
joint name as the joint at its start. Where CMU's spine and neck ends fall against the SMPL body
decides the rest: lowerback/upperback/thorax end near spine1/2/3, lowerneck's end at the base of
the neck, upperneck's at the base of the skull (the head joint). CMU has clavicles but no collar
joint, so a collar sits on the clavicle as far towards the shoulder as bvh_mapping puts it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..motion import Motion
from ..skeleton import JOINT_NAMES
from .asf_amc import AsfSkeleton, forward_kinematics, parse_amc, parse_asf
from .bvh_mapping import COLLAR_TOWARDS_SHOULDER, apply_mapping, name_list
from .canonical import canonical_motion

# canonical joint -> the CMU bone whose end it is ("root": the root's position)
CMU_BONE_ENDS = {
    "pelvis": "root", "l_hip": "lhipjoint", "r_hip": "rhipjoint", "spine1": "lowerback",
    "l_knee": "lfemur", "r_knee": "rfemur", "spine2": "upperback", "l_ankle": "ltibia",
    "r_ankle": "rtibia", "spine3": "thorax", "l_foot": "lfoot", "r_foot": "rfoot", "neck": "lowerneck",
    "head": "upperneck", "l_shoulder": "lclavicle", "r_shoulder": "rclavicle", "l_elbow": "lhumerus",
    "r_elbow": "rhumerus", "l_wrist": "lradius", "r_wrist": "rradius",
}
CMU_COLLARS = {"l_collar": ("thorax", "lclavicle"), "r_collar": ("thorax", "rclavicle")}  # clavicle start, end


def cmu_weights(skeleton: AsfSkeleton, source: str) -> tuple[np.ndarray, dict[str, str]]:
    """W (22, B) with canonical joints = W @ bone ends, and the report {canonical: CMU bone or
    'interpolated'}; refuses a skeleton without CMU's bone names, naming the missing ones."""
    index = {name: i for i, name in enumerate(skeleton.names)}
    needed = sorted({*CMU_BONE_ENDS.values(), *(b for pair in CMU_COLLARS.values() for b in pair)})
    missing = [bone for bone in needed if bone not in index]
    if missing:
        raise InputError(source, f"not a CMU-named skeleton: it has no bones {', '.join(missing)} "
                         f"(bones: {name_list(skeleton.names)})")
    weights = np.zeros((len(JOINT_NAMES), len(skeleton.names)))
    for c, canonical in enumerate(JOINT_NAMES):
        if canonical in CMU_COLLARS:
            start, end = CMU_COLLARS[canonical]
            weights[c, index[start]] += 1.0 - COLLAR_TOWARDS_SHOULDER
            weights[c, index[end]] += COLLAR_TOWARDS_SHOULDER
        else:
            weights[c, index[CMU_BONE_ENDS[canonical]]] = 1.0
    report = {c: CMU_BONE_ENDS.get(c, "interpolated") for c in JOINT_NAMES}
    return weights, report


def find_asf(amc: str, given: str | os.PathLike | None) -> str:
    """The skeleton of an AMC: the one given, else beside it with the same stem, else CMU's
    `NN.asf` for `NN_MM.amc`, else the only .asf in its folder."""
    if given is not None:
        given = str(given)
        if Path(given).suffix.lower() != ".asf":
            raise InputError(given, "for an .amc motion the mapping argument is its .asf skeleton")
        if not Path(given).is_file():
            raise InputError(given, "the ASF skeleton file does not exist")
        return given
    folder, stem = Path(amc).parent, Path(amc).stem
    try:
        skeletons = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".asf" and p.is_file())
    except OSError:
        skeletons = []
    by_name = {p.name.lower(): p for p in skeletons}
    wanted = [f"{stem}.asf"]
    cmu = re.fullmatch(r"(\d+)_\d+", stem)
    if cmu:
        wanted.append(f"{cmu.group(1)}.asf")
    for name in wanted:
        if name.lower() in by_name:
            return str(by_name[name.lower()])
    if len(skeletons) == 1:
        return str(skeletons[0])
    found = f"; its folder holds {len(skeletons)} others ({', '.join(p.name for p in skeletons[:5])})" \
        if skeletons else ""
    raise InputError(amc, f"cannot find its ASF skeleton: looked for {' or '.join(wanted)} beside it{found}; "
                     "pass the .asf as the mapping argument")


def read_amc(path: str | os.PathLike, asf: str | os.PathLike | None = None) -> Motion:
    source = str(path)
    skeleton_path = find_asf(source, asf)
    skeleton = parse_asf(skeleton_path)
    weights, report = cmu_weights(skeleton, skeleton_path)
    clip = parse_amc(source, skeleton)
    joints = forward_kinematics(skeleton, clip, reduce=lambda ends: apply_mapping(weights, ends))
    meta = {"source": source, "format": "amc", "skeleton": skeleton_path, "source_fps": clip.fps,
            "source_frames": int(clip.values.shape[0]), "mapped_joints": report}
    return canonical_motion(joints, clip.fps, source, meta)
