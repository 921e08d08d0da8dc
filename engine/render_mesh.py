"""SMPL body frames of a canonical motion: the fitted body (engine/smpl_body.py) drawn in the skeleton's scene.

Same floor, camera and light as `render.render_frames`; the skin is coloured by side (each vertex takes the
side of the joint that moves it most: left blue, right orange, centre grey), so left and right read as on the
skeleton. Needs pyrender (EGL) and the user's licensed SMPL files; `render_files.smpl_status` says whether
they are there, and skeletons are drawn otherwise.
"""
from __future__ import annotations

import os

import numpy as np

from .render import DEFAULT_SIZE, _check_joints, _rgb, _write_label, camera_poses, draw_meshes
from .render_style import SIDE_COLOURS
from .skeleton import side_of, NUM_JOINTS
from .smpl_body import body_vertices, fit_smpl, load_smpl, smpl_file

# SMPL's joints 22 and 23 are the hands: they take their wrists' sides.
HAND_SIDES = {22: "left", 23: "right"}
_bodies: dict = {}


def body_frames(joints: np.ndarray, fps: float = 20.0, folder: str | os.PathLike | None = None,
                size: tuple[int, int] = DEFAULT_SIZE, frames=None, label: str | None = None,
                progress=None) -> tuple[list[np.ndarray], dict]:
    """(RGB images of the fitted SMPL body, one per index of `frames` (all by default), {"joint_error_m"}).
    progress(done, total, stage) follows the fit."""
    joints, _ = _check_joints(joints, None)
    path = smpl_file(folder)
    body = _bodies.get(str(path)) or _bodies.setdefault(str(path), load_smpl(path))
    fit = fit_smpl(body, joints, progress=None if progress is None else lambda d, t: progress(d, t, "fitting SMPL"))
    vertices, faces = body_vertices(body, fit)
    colours = skin_colours(np.asarray(body.lbs_weights))
    index = np.arange(len(joints)) if frames is None else np.asarray(frames, dtype=int)
    images = draw_meshes(lambda i: _mesh(vertices[i], faces, colours), camera_poses(joints, fps), index, size)
    if label is not None:
        images = [_write_label(img, f"{label}  {i / fps:.1f} s") for img, i in zip(images, index)]
    return images, {"joint_error_m": round(fit.joint_error_m, 4), "smpl_file": str(path)}


def skin_colours(weights: np.ndarray) -> np.ndarray:
    """(V, 4) RGBA per vertex: the side colour of the joint with the largest skinning weight."""
    owner = weights.argmax(axis=1)
    palette = {j: _rgb(SIDE_COLOURS[side_of(j)]) for j in range(NUM_JOINTS)}
    palette.update({j: _rgb(SIDE_COLOURS[side]) for j, side in HAND_SIDES.items()})
    rgb = np.array([palette.get(int(j), _rgb(SIDE_COLOURS["center"])) for j in owner], dtype=np.float32)
    return np.concatenate([rgb, np.ones((len(rgb), 1), dtype=np.float32)], axis=1)


def _mesh(vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray) -> dict:
    """One frame's body in the dict `render.draw_meshes` takes, with area-weighted vertex normals."""
    v = vertices.astype(np.float64)
    face_normals = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    normals = np.zeros_like(v)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return {"positions": v.astype(np.float32), "normals": normals.astype(np.float32), "colours": colours,
            "faces": faces.astype(np.uint32)}
