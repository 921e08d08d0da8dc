"""A body model in SMPL's file format, made here (SMPL itself is licensed and never in the repository):
a small cube at each of SMPL's 24 rest joints, each cube skinned to its joint alone, so smplx poses it by
the same forward kinematics as the real model. Shape 0 scales the body; posing adds no corrective shapes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
REST_JOINTS = np.array([
    (0, 0.95, 0), (0.06, 0.86, 0), (-0.06, 0.86, 0), (0, 1.06, 0), (0.1, 0.48, 0), (-0.1, 0.48, 0),
    (0, 1.19, 0), (0.09, 0.08, 0), (-0.09, 0.08, 0), (0, 1.25, 0), (0.11, 0.02, 0.12), (-0.11, 0.02, 0.12),
    (0, 1.47, 0), (0.07, 1.38, 0), (-0.07, 1.38, 0), (0, 1.6, 0.04), (0.18, 1.41, 0), (-0.18, 1.41, 0),
    (0.44, 1.40, 0), (-0.44, 1.40, 0), (0.69, 1.40, 0), (-0.69, 1.40, 0), (0.77, 1.40, 0), (-0.77, 1.40, 0),
], dtype=np.float64)
CUBE = np.array([(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64) * 0.03
CUBE_FACES = np.array([(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
                       (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)])


def write_toy_smpl(folder: Path, gender: str = "neutral") -> Path:
    n = len(REST_JOINTS)
    v_template = (REST_JOINTS[:, None, :] + CUBE[None]).reshape(-1, 3)
    regressor = np.zeros((n, len(v_template)))
    weights = np.zeros((len(v_template), n))
    for j in range(n):
        regressor[j, 8 * j:8 * j + 8] = 1 / 8
        weights[8 * j:8 * j + 8, j] = 1.0
    shapedirs = np.zeros((len(v_template), 3, 10))
    shapedirs[:, :, 0] = 0.05 * v_template
    shapedirs[:, :, 1:] = np.random.default_rng(0).normal(0, 0.002, (len(v_template), 3, 9))
    kintree = np.array([[2**32 - 1] + PARENTS[1:], list(range(n))], dtype=np.int64)
    path = Path(folder) / f"SMPL_{gender.upper()}.npz"
    np.savez(path, v_template=v_template, f=(CUBE_FACES[None] + 8 * np.arange(n)[:, None, None]).reshape(-1, 3),
             J_regressor=regressor, weights=weights, kintree_table=kintree, shapedirs=shapedirs,
             posedirs=np.zeros((len(v_template), 3, 207)))
    return path
