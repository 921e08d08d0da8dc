"""SMPL body meshes for a canonical motion: licensed SMPL model files (never shipped), fitted by inverse kinematics.

MotionLex draws skeletons; a user who has the SMPL model files (https://smpl.is.tue.mpg.de, licensed, never
shipped or downloaded) can have bodies instead. The 22 canonical joints are SMPL's first 22, so a body is fitted
to a motion SMPLify-style, on joints only: shape (one `betas` for the motion), global orientation, the 23 body
joint rotations (axis-angle) and the root translation of every frame are optimised with Adam so that the posed
SMPL joints (forward kinematics of the shaped rest joints, smplx.lbs) meet the motion's joints, with small priors
on shape and pose and a smoothness term over time. The vertices then come from smplx's skinning (lbs).

Files: `SMPL_NEUTRAL.npz` (or _MALE / _FEMALE) read with allow_pickle=False. The SMPL release is a pickle;
MotionLex never unpickles a file it is pointed to, so convert it once yourself (README, "Rendering").
"""
from __future__ import annotations

import contextlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import InputError
from .render import SMPL_ENV
from .render_style import facing_direction
from .skeleton import NUM_JOINTS

SMPL_KEYS = ("v_template", "f", "J_regressor", "weights", "kintree_table", "shapedirs", "posedirs")
MAX_FILE_BYTES = 512 * 1024 * 1024
ITERATIONS = 300
PRIOR_BETAS, PRIOR_POSE, SMOOTH = 1e-5, 1e-6, 1e-3   # against joint errors of ~1e-4 m^2


@dataclass
class SmplFit:
    """Per-frame SMPL parameters of a motion and how far the fitted joints are from it (metres)."""
    betas: torch.Tensor          # (1, 10)
    global_orient: torch.Tensor  # (T, 3) axis-angle
    body_pose: torch.Tensor      # (T, 69)
    transl: torch.Tensor         # (T, 3)
    joint_error_m: float         # mean distance between fitted and given joints


def smpl_file(folder: str | os.PathLike | None = None, gender: str = "neutral") -> Path:
    """The SMPL_<GENDER>.npz in `folder` (or $MOTIONLEX_SMPL_DIR), or an InputError saying what is missing."""
    folder = folder or os.environ.get(SMPL_ENV)
    if not folder:
        raise InputError(None, f"no SMPL model folder: set ${SMPL_ENV} to the folder of your licensed SMPL files")
    path = Path(folder).expanduser() / f"SMPL_{gender.upper()}.npz"
    if not path.is_file():
        pickled = path.with_suffix(".pkl")
        hint = (f"; {pickled.name} is there: convert it once to .npz (README, 'Rendering'), MotionLex never "
                "unpickles files") if pickled.is_file() else ""
        raise InputError(path, f"no SMPL model file{hint}")
    return path


def load_smpl(path: str | os.PathLike):
    """smplx's SMPL layer built from an .npz of the SMPL model's arrays (no pickle)."""
    import smplx
    from smplx.utils import Struct

    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(path, f"larger than {MAX_FILE_BYTES // 2**20} MB: not an SMPL model file")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            missing = [k for k in SMPL_KEYS if k not in arrays.files]
            if missing:
                raise InputError(path, f"not an SMPL model file: no {', '.join(map(repr, missing))} array")
            data = {k: np.asarray(arrays[k]) for k in SMPL_KEYS}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise InputError(path, f"not a readable .npz file ({err})") from None
    if data["J_regressor"].shape[0] < NUM_JOINTS or data["kintree_table"].shape[-1] != data["J_regressor"].shape[0]:
        raise InputError(path, "not an SMPL model file: its joint arrays do not match")
    with contextlib.redirect_stdout(io.StringIO()):   # smplx prints a note on 10-component files to stdout
        return smplx.SMPL(str(path), data_struct=Struct(**data), num_betas=min(10, data["shapedirs"].shape[-1]))


def posed_joints(body, betas, global_orient, body_pose, transl) -> torch.Tensor:
    """(T, J, 3) joints of the shaped, posed body by forward kinematics alone (no vertices: cheap to optimise)."""
    from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints

    shaped = body.v_template[None] + blend_shapes(betas, body.shapedirs)
    rest = vertices2joints(body.J_regressor, shaped).expand(len(transl), -1, -1)
    pose = torch.cat([global_orient, body_pose], dim=1).reshape(-1, 3)
    rotations = batch_rodrigues(pose).reshape(len(transl), -1, 3, 3)
    joints, _ = batch_rigid_transform(rotations, rest, body.parents)
    return joints + transl[:, None]


def fit_smpl(body, joints: np.ndarray, iterations: int = ITERATIONS, progress=None) -> SmplFit:
    """Fit SMPL parameters to a canonical motion (T, 22, 3) (module doc). progress(done, total) when given."""
    target = torch.as_tensor(np.asarray(joints, dtype=np.float32))
    frames = len(target)
    betas = torch.zeros(1, body.num_betas, requires_grad=True)
    yaw = np.array([np.arctan2(*facing_direction(p)) for p in joints], dtype=np.float32)   # about +Y from +Z
    global_orient = torch.zeros(frames, 3)
    global_orient[:, 1] = torch.from_numpy(yaw)
    global_orient.requires_grad_(True)
    body_pose = torch.zeros(frames, body.NUM_BODY_JOINTS * 3, requires_grad=True)
    with torch.no_grad():
        rest = posed_joints(body, betas, torch.zeros(1, 3), torch.zeros(1, body.NUM_BODY_JOINTS * 3), torch.zeros(1, 3))
    transl = (target[:, 0] - rest[0, 0]).clone().requires_grad_(True)
    params = [betas, global_orient, body_pose, transl]
    optimiser = torch.optim.Adam(params, lr=0.05)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimiser, [int(iterations * 0.7)], 0.2)
    for step in range(iterations):
        optimiser.zero_grad()
        fitted = posed_joints(body, betas, global_orient, body_pose, transl)[:, :NUM_JOINTS]
        loss = (fitted - target).square().sum(-1).mean() + PRIOR_BETAS * betas.square().sum() \
            + PRIOR_POSE * body_pose.square().sum(-1).mean()
        if frames > 1:
            loss = loss + SMOOTH * (body_pose[1:] - body_pose[:-1]).square().sum(-1).mean()
        loss.backward()
        optimiser.step()
        schedule.step()
        if progress is not None:
            progress(step + 1, iterations)
    with torch.no_grad():
        fitted = posed_joints(body, betas, global_orient, body_pose, transl)[:, :NUM_JOINTS]
        error = float((fitted - target).norm(dim=-1).mean())
    return SmplFit(betas.detach(), global_orient.detach(), body_pose.detach(), transl.detach(), error)


@torch.no_grad()
def body_vertices(body, fit: SmplFit) -> tuple[np.ndarray, np.ndarray]:
    """((T, V, 3) vertices, (F, 3) faces) of the fitted bodies: smplx's linear blend skinning with its pose
    corrective shapes."""
    from smplx.lbs import lbs

    frames = len(fit.transl)
    pose = torch.cat([fit.global_orient, fit.body_pose], dim=1)
    vertices, _ = lbs(fit.betas.expand(frames, -1), pose, body.v_template, body.shapedirs, body.posedirs,
                      body.J_regressor, body.parents, body.lbs_weights)
    return (vertices + fit.transl[:, None]).numpy(), np.asarray(body.faces, dtype=np.int64)
