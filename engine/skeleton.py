"""The canonical skeleton: HumanML3D's 22 joints, their tree, sides and body parts.

Every reader ends on this skeleton; every model reads it. Indices here are the contract.
"""
from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle",
    "spine3", "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder",
    "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

# Parent of each joint (HumanML3D / SMPL kinematic tree); the root has -1.
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

# (parent, child) pairs: the bones whose lengths must stay constant.
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

# HumanML3D's kinematic chains, as its plotting and feature code use them.
KINEMATIC_CHAINS: tuple[tuple[int, ...], ...] = (
    (0, 2, 5, 8, 11),            # right leg
    (0, 1, 4, 7, 10),            # left leg
    (0, 3, 6, 9, 12, 15),        # spine and head
    (9, 14, 17, 19, 21),         # right arm
    (9, 13, 16, 18, 20),         # left arm
)

LEFT_JOINTS = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith("l_"))
RIGHT_JOINTS = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith("r_"))
# Mirror permutation: index i of a mirrored motion reads joint MIRROR[i] of the original.
MIRROR: tuple[int, ...] = tuple(
    JOINT_INDEX["r_" + n[2:]] if n.startswith("l_") else JOINT_INDEX["l_" + n[2:]] if n.startswith("r_") else i
    for i, n in enumerate(JOINT_NAMES)
)


def mirror_joints(joints):
    """(..., 22, 3) canonical positions (numpy or torch) -> the same motion with left and right exchanged:
    joints swap with their mirror twins and X (the body's left) changes sign."""
    out = joints[..., list(MIRROR), :]   # advanced indexing: a copy in numpy and torch alike
    out[..., 0] = -out[..., 0]
    return out


def side_of(joint: int) -> str:
    """'left', 'right' or 'center' for a joint index (used to colour the viewer)."""
    name = JOINT_NAMES[joint]
    return "left" if name.startswith("l_") else "right" if name.startswith("r_") else "center"


# The 7 body-part groups of MoT++ (Messina et al. 2024) used for joint-group tokens and pooling.
BODY_PARTS: dict[str, tuple[int, ...]] = {
    "root": (0,),
    "torso": (3, 6, 9),
    "head": (12, 15),
    "left_arm": (13, 16, 18, 20),
    "right_arm": (14, 17, 19, 21),
    "left_leg": (1, 4, 7, 10),
    "right_leg": (2, 5, 8, 11),
}
BODY_PART_NAMES = tuple(BODY_PARTS)
FOOT_JOINTS = (7, 10, 8, 11)  # l_ankle, l_foot, r_ankle, r_foot: floor contact

FPS = 20.0


# Body size and stature from bone lengths: pose-independent, so a crouch or a raised hand does not change them.
BODY_SIZE_M = 1.35  # pelvis->head chain + hip->knee->ankle in the SMPL mean body
STATURE_PER_BODY_SIZE = 1.70 / 1.35  # the SMPL mean body is 1.70 m tall (head top, not head joint)
_SIZE_CHAINS = (("pelvis", "spine1", "spine2", "spine3", "neck", "head"), ("l_hip", "l_knee", "l_ankle"),
                ("r_hip", "r_knee", "r_ankle"))


def body_size(joints: np.ndarray) -> float:
    """Median over frames of spine+neck length plus the mean leg length, in the file's units."""
    def chain_length(chain):
        idx = [JOINT_INDEX[n] for n in chain]
        return np.linalg.norm(np.diff(joints[:, idx], axis=1), axis=-1).sum(axis=1)
    torso, left, right = (chain_length(c) for c in _SIZE_CHAINS)
    return float(np.median(torso + 0.5 * (left + right)))


def stature_m(joints: np.ndarray) -> float:
    """Standing height (head top) of metre-scaled joints, from bone lengths so any pose works."""
    return body_size(joints) * STATURE_PER_BODY_SIZE
