"""Foot locking of generated joints: planted feet hold the body back (our addition, after Kovar, Schreiner and
Gleicher 2002, "Footskate cleanup for motion capture editing", root only).

A diffusion generator predicts the root's velocity and the legs' pose as separate feature blocks, and nothing
forces them to agree: a walk whose root moves faster than its steps slides its stance foot over the floor (foot
skating). The generator also predicts HumanML3D's foot-contact channels (features [259:263]: "this foot does not
move to the next frame"). Locking takes those at their word, as a brake: on every step t -> t+1 in which a toe is
predicted in contact and is near the floor, the toe's slide (the mean over the planted toes when both are) is
taken along the direction the pelvis travels, and the whole body is held back by that much, at most by the
pelvis's own step. The holds accumulate, so the body moves only as far as its planted feet allow.

Locking only ever slows the body along its own path: a toe that slides sideways or backwards, or one carried round
by a turn in place (the pelvis still), moves nothing, so a turn never becomes a walk. The per-step hold is spread
over a Gaussian of SLIDE_SIGMA_FRAMES before it accumulates: switched on and off with the contacts it would change
the root's speed within one frame, which shows as jitter. Heights and poses are untouched. Kovar et al. also bend
the legs by inverse kinematics to hold each foot exactly; this keeps the pose as generated, so a foot that moves
relative to the body while planted still slides.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..skeleton import JOINT_INDEX

TOES = (JOINT_INDEX["l_foot"], JOINT_INDEX["r_foot"])
PELVIS = JOINT_INDEX["pelvis"]
TOE_CONTACT_CHANNELS = (1, 3)     # within the contacts block: l_ankle, l_foot, r_ankle, r_foot
CONTACT_PROBABILITY = 0.5         # the channels are trained on 0/1 targets; above one half = "in contact"
PLANTED_HEIGHT_M = 0.10           # a toe higher than this is in the air whatever the channel says
# 1.5 frames: on 48 synthetic validation prompts the shipped base's jitter stays at the unlocked output's (3.46 against
# 3.49 m/s^2; 3.55 unspread) for nearly all of the skating that an unspread hold removes (0.087 -> 0.054; 0.051)
SLIDE_SIGMA_FRAMES = 1.5


def planted_toes(joints: np.ndarray, contacts: np.ndarray, height: float = PLANTED_HEIGHT_M) -> np.ndarray:
    """(T-1, 2) bool: the left / right toe is planted on step t -> t+1 (predicted contact at row t, and at most
    `height` metres above the floor in both frames). `contacts` is the (>= T-1, 4) denormalised contacts block."""
    joints = np.asarray(joints)
    contacts = np.asarray(contacts)
    if len(contacts) < len(joints) - 1 or contacts.ndim != 2 or contacts.shape[1] != 4:
        raise ValueError(f"expected at least {len(joints) - 1} rows of 4 foot contacts, got {contacts.shape}")
    low = joints[:, list(TOES), 1] <= height
    predicted = contacts[:len(joints) - 1, list(TOE_CONTACT_CHANNELS)] > CONTACT_PROBABILITY
    return predicted & low[:-1] & low[1:]


def lock_feet(joints: np.ndarray, planted: np.ndarray, sigma: float = SLIDE_SIGMA_FRAMES) -> np.ndarray:
    """(T, 22, 3) joints and (T-1, 2) planted toes -> joints held back in x/z so that planted toes do not slide
    along the body's path (module docstring; the hold spread over a Gaussian of `sigma` frames, 0: exact)."""
    joints = np.asarray(joints)
    planted = np.asarray(planted, dtype=bool)
    if planted.shape != (max(len(joints) - 1, 0), 2):
        raise ValueError(f"expected ({len(joints) - 1}, 2) planted flags, got {planted.shape}")
    if len(joints) < 2 or not planted.any():
        return joints
    xz = joints[..., [0, 2]].astype(np.float64)
    steps = xz[1:, list(TOES)] - xz[:-1, list(TOES)]                # (T-1, 2, 2) toe steps
    count = planted.sum(1, keepdims=True)                          # (T-1, 1)
    slide = (steps * planted[..., None]).sum(1) / np.maximum(count, 1)
    travel = xz[1:, PELVIS] - xz[:-1, PELVIS]                       # (T-1, 2) the pelvis's step
    length = np.linalg.norm(travel, axis=-1, keepdims=True)
    path = np.divide(travel, length, out=np.zeros_like(travel), where=length > 1e-9)
    slide = np.clip((slide * path).sum(-1, keepdims=True), 0.0, length) * path
    if sigma > 0:
        slide = gaussian_filter1d(slide, sigma, axis=0, mode="constant")
    shift = np.concatenate([np.zeros((1, 2)), -np.cumsum(slide, axis=0)])   # (T, 2)
    out = joints.copy()
    out[..., 0] += shift[:, None, 0].astype(out.dtype)
    out[..., 2] += shift[:, None, 1].astype(out.dtype)
    return out
