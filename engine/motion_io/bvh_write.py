"""write_bvh: a canonical Motion -> a BVH file on a 22-joint rig with HumanML3D joint names.

The rig's rest pose is the motion's first frame with every bone scaled to its mean length over
the clip. Per frame, each joint's global rotation turns its rest child offsets onto the observed
child directions: the shortest-arc rotation for one child, the best-fit (Kabsch) rotation for
several (pelvis, spine3). Directions are taken from the *reconstructed* joint position, so the
residual of one joint does not accumulate down the chain.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from scipy.spatial.transform import Rotation

from ..motion import Motion
from ..skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

CM_PER_M = 100.0  # written in centimetres, the most common BVH unit
CHILDREN = [[c for c, p in enumerate(PARENTS) if p == j] for j in range(NUM_JOINTS)]
# BVH lists channel values in the hierarchy's depth-first order, not in canonical index order.
FILE_ORDER = []
_stack = [0]
while _stack:
    FILE_ORDER.append(_stack.pop())
    _stack.extend(reversed(CHILDREN[FILE_ORDER[-1]]))
ROTATION_ORDER = "ZYX"  # channels Zrotation Yrotation Xrotation: R = Rz @ Ry @ Rx


def _shortest_arc(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(3,) unit rest direction, (F, 3) unit targets -> (F, 3, 3) rotations rest -> target."""
    v = np.cross(rest, target)
    c = target @ rest
    vx = np.zeros((len(target), 3, 3))
    vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    vx -= vx.transpose(0, 2, 1)
    rot = np.eye(3) + vx + vx @ vx / np.maximum(1.0 + c, 1e-12)[:, None, None]
    flipped = c < -1.0 + 1e-9  # antipodal: half turn about any axis perpendicular to rest
    if flipped.any():
        axis = np.cross(rest, [1.0, 0.0, 0.0] if abs(rest[0]) < 0.9 else [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        rot[flipped] = 2.0 * np.outer(axis, axis) - np.eye(3)
    return rot


def _kabsch(rest: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(K, 3) rest vectors, (F, K, 3) observed -> (F, 3, 3) best-fit rotations rest -> observed."""
    h = np.einsum("ki,fkj->fij", rest, observed)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.transpose(0, 2, 1) @ u.transpose(0, 2, 1)))
    fix = np.broadcast_to(np.eye(3), h.shape).copy()
    fix[:, 2, 2] = d
    return vt.transpose(0, 2, 1) @ fix @ u.transpose(0, 2, 1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def rig_from_motion(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest offsets (22, 3) and per-frame global rotations (F, 22, 3, 3) reproducing `joints`."""
    lengths = np.array([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1).mean() if p >= 0 else 0.0
                        for c, p in enumerate(PARENTS)])
    offsets = np.zeros((NUM_JOINTS, 3))
    for c, p in enumerate(PARENTS):
        if p >= 0:
            direction = joints[0, c] - joints[0, p]
            fallback = np.array([0.0, 1.0, 0.0])  # a zero-length first-frame bone points up
            offsets[c] = lengths[c] * (_unit(direction) if np.linalg.norm(direction) > 1e-9 else fallback)
    n_frames = joints.shape[0]
    rebuilt = np.zeros_like(joints)
    rebuilt[:, 0] = joints[:, 0]
    rotations = np.zeros((n_frames, NUM_JOINTS, 3, 3))
    for j in range(NUM_JOINTS):  # canonical order lists every parent before its children
        kids = CHILDREN[j]
        if not kids:
            rotations[:, j] = rotations[:, PARENTS[j]]
            continue
        observed = joints[:, kids] - rebuilt[:, j:j + 1]
        if len(kids) == 1:
            rotations[:, j] = _shortest_arc(_unit(offsets[kids[0]]), _unit(observed[:, 0]))
        else:
            rotations[:, j] = _kabsch(offsets[kids], _unit(observed) * lengths[kids, None])
        for c in kids:
            rebuilt[:, c] = rebuilt[:, j] + rotations[:, j] @ offsets[c]
    return offsets, rotations


def _hierarchy(offsets: np.ndarray, root_offset: np.ndarray) -> list[str]:
    rot_channels = " ".join(f"{axis}rotation" for axis in ROTATION_ORDER)
    lines = ["HIERARCHY"]

    def joint(j: int, depth: int) -> None:
        pad = "\t" * depth
        keyword = "ROOT" if j == 0 else "JOINT"
        offset = root_offset if j == 0 else offsets[j] * CM_PER_M
        channels = f"6 Xposition Yposition Zposition {rot_channels}" if j == 0 else f"3 {rot_channels}"
        lines.extend([f"{pad}{keyword} {JOINT_NAMES[j]}", f"{pad}{{",
                      f"{pad}\tOFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}",
                      f"{pad}\tCHANNELS {channels}"])
        for c in CHILDREN[j]:
            joint(c, depth + 1)
        if not CHILDREN[j]:
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET 0.000000 0.000000 0.000000",
                          f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    return lines


def write_bvh(motion: Motion, path: str | os.PathLike) -> None:
    joints = motion.joints.astype(np.float64)
    offsets, rotations = rig_from_motion(joints)
    local = rotations.copy()
    parents = np.array(PARENTS[1:])
    local[:, 1:] = np.swapaxes(rotations[:, parents], -1, -2) @ rotations[:, 1:]
    with warnings.catch_warnings():  # gimbal lock only makes the angle split arbitrary, not wrong
        warnings.simplefilter("ignore", UserWarning)
        euler = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler(ROTATION_ORDER, degrees=True)
    euler = euler.reshape(len(joints), NUM_JOINTS, 3)[:, FILE_ORDER].reshape(len(joints), -1)
    root = joints[:, 0] * CM_PER_M
    values = np.concatenate([root, euler], axis=1)
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in values)
    text = "\n".join(_hierarchy(offsets, root[0]) + [
        "MOTION", f"Frames: {len(joints)}", f"Frame Time: {1.0 / motion.fps:.6f}", body]) + "\n"
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
