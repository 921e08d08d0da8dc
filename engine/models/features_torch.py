"""Differentiable (torch) decoding of HumanML3D 263-dim features to joint positions, for training losses.

The same arithmetic as engine.motion_io.npy_read.recover_from_ric (which serving and the metrics use, in
numpy float64): the root yaw is the running sum of the yaw velocities of the previous frames, a turn of -2a
about +Y takes root-frame vectors to the world, the root's ground position is the running sum of its
rotated xz steps, its height is read directly, and the other joints are the ric block rotated to the
world and moved by the root's ground position. Batched over (B, T); gradients flow to the root and ric
blocks. generator_loss's geometric terms (MDM's L_pos, L_vel, L_foot) use it through `FeatureDecoder`.

`root_frame_steps` is our addition for the velocity and foot terms: each frame-to-frame displacement in the
root frame of the step's first frame, so a step depends on that frame's root velocity only, not on the running
sums (see its docstring).
"""
from __future__ import annotations

import numpy as np
import torch

JOINTS = 22


def rotate_y(vectors: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate (..., 3) vectors about +Y by `angle` broadcast over the leading axes (npy_read's convention)."""
    c, s = angle.cos(), angle.sin()
    x, y, z = vectors.unbind(-1)
    return torch.stack([c * x + s * z, y, -s * x + c * z], dim=-1)


def features_to_joints(features: torch.Tensor) -> torch.Tensor:
    """(B, T, 263) denormalised features -> (B, T, 22, 3) joint positions (recover_from_ric in torch)."""
    B, T, _ = features.shape
    yaw = torch.cat([features.new_zeros(B, 1), torch.cumsum(features[:, :-1, 0], dim=1)], dim=1)
    to_world = -2.0 * yaw                                                    # (B, T)
    step = features.new_zeros(B, T, 3)
    step[:, 1:, 0], step[:, 1:, 2] = features[:, :-1, 1], features[:, :-1, 2]
    ground = torch.cumsum(rotate_y(step, to_world), dim=1)                   # (B, T, 3), y stays 0
    root = torch.stack([ground[..., 0], features[..., 3], ground[..., 2]], dim=-1)
    local = features[..., 4:4 + (JOINTS - 1) * 3].reshape(B, T, JOINTS - 1, 3)
    joints = rotate_y(local, to_world[..., None])
    offset = torch.stack([ground[..., 0], torch.zeros_like(ground[..., 0]), ground[..., 2]], dim=-1)
    return torch.cat([root[:, :, None], joints + offset[:, :, None]], dim=2)


def root_frame_steps(features: torch.Tensor) -> torch.Tensor:
    """(B, T, 263) denormalised features -> (B, T-1, 22, 3): each joint's displacement from frame t to t+1,
    expressed in the root frame of frame t.

    With L_t the joints in frame t's root frame (the root at (0, height, 0), the others the ric block), a
    the yaw velocity and s = (v_x, 0, v_z) the root's step, both from row t:
        d_t = R_y(-2 a) (L_{t+1} + s) - L_t.
    It is the world displacement of features_to_joints rotated by frame t's heading, so |d_t| (the foot term)
    is the same, while d_hat_t - d_t leaves out the heading and position error accumulated before frame t.
    Why: through the running sums, an error in one frame's root velocity moves every later frame, so MDM's
    world-frame L_vel at a high weight trains the root block to offset the errors of other frames rather than
    to be right; our shipped generator trained that way could not reproduce the root velocities of its own
    training clips even from nearly clean input (bench/RESULTS.md, "root-frame geometric terms")."""
    B, T, _ = features.shape
    ric = features[..., 4:4 + (JOINTS - 1) * 3].reshape(B, T, JOINTS - 1, 3)
    height = features[..., 3]
    root = torch.stack([torch.zeros_like(height), height, torch.zeros_like(height)], dim=-1)
    local = torch.cat([root[:, :, None], ric], dim=2)                      # (B, T, 22, 3)
    step = torch.stack([features[:, :-1, 1], torch.zeros_like(features[:, :-1, 1]), features[:, :-1, 2]], dim=-1)
    turned = rotate_y(local[:, 1:] + step[:, :, None], -2.0 * features[:, :-1, 0, None])
    return turned - local[:, :-1]


class FeatureDecoder:
    """Normalised features -> joints: denormalise by the checkpoint's mean/std, then `features_to_joints`;
    `steps` gives `root_frame_steps` of the same features."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, device=None):
        # copies: the checkpoint's arrays are read-only, which torch warns about
        self.mean = torch.as_tensor(np.array(mean, dtype=np.float32), device=device)
        self.std = torch.as_tensor(np.array(std, dtype=np.float32), device=device)

    def __call__(self, normalised: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(normalised.device), self.std.to(normalised.device)
        return features_to_joints(normalised * std + mean)

    def steps(self, normalised: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(normalised.device), self.std.to(normalised.device)
        return root_frame_steps(normalised * std + mean)
