"""Motion featurisation: canonical joints (B, T, 22, 3) -> per-joint, per-frame model inputs.

Per joint and frame the encoder sees 6 numbers: a position and a velocity, both divided by the body's
size so that a child and an adult doing the same thing look alike (the size itself is kept as a feature
of the root, so the model stays scale-aware without being scale-bound):
  - joints 1..21: position relative to the pelvis (root-relative positions);
  - joint 0 (pelvis): its own trajectory (x, height, z) from the first-frame origin (root height and
    planar displacement), since root-relative it would be zero;
  - velocity: frame difference of the above x FPS (metres/second / size), zero on the first frame; the
    pelvis's velocity is the root planar (and vertical) velocity.
`positions` is also the CMMM reconstruction target (Eq. 6) and its frame difference the velocity target.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.skeleton import FPS, JOINT_INDEX

# Bones summed into the body size: pelvis -> left hip -> knee -> ankle, and pelvis -> spine -> neck -> head.
_SIZE_CHAIN = tuple((JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in (
    ("pelvis", "l_hip"), ("l_hip", "l_knee"), ("l_knee", "l_ankle"),
    ("pelvis", "spine1"), ("spine1", "spine2"), ("spine2", "spine3"), ("spine3", "neck"), ("neck", "head")))
REFERENCE_SIZE = 1.45  # metres: that chain on HumanML3D's mean body, so normalised values stay near metres
FEATURES_PER_JOINT = 6


@dataclass
class MotionFeatures:
    positions: torch.Tensor   # (B, T, 22, 3) root trajectory at joint 0, root-relative elsewhere, / size
    velocities: torch.Tensor  # (B, T, 22, 3) d positions / dt, zero on the first and on padded frames
    size: torch.Tensor        # (B,) body size relative to REFERENCE_SIZE
    frame_mask: torch.Tensor  # (B, T) bool, True = real frame

    def inputs(self) -> torch.Tensor:
        """(B, T, 22, 6): positions and velocities side by side."""
        return torch.cat([self.positions, self.velocities], dim=-1)


def body_size(joints: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """(B,) mean over real frames of the size chain's length, relative to REFERENCE_SIZE."""
    parent, child = (torch.tensor(ix, device=joints.device) for ix in zip(*_SIZE_CHAIN))
    chain = (joints[:, :, child] - joints[:, :, parent]).norm(dim=-1).sum(-1)      # (B, T)
    weights = frame_mask.to(chain.dtype)
    mean = (chain * weights).sum(1) / weights.sum(1).clamp_min(1.0)
    return (mean / REFERENCE_SIZE).clamp_min(0.1)  # degenerate skeletons must not blow the features up


def featurise(joints: torch.Tensor, frame_mask: torch.Tensor) -> MotionFeatures:
    """Canonical joints (B, T, 22, 3) metres, and a (B, T) real-frame mask -> MotionFeatures."""
    if joints.ndim != 4 or joints.shape[-2:] != (22, 3):
        raise ValueError(f"expected joints of shape (B, T, 22, 3), got {tuple(joints.shape)}")
    if frame_mask.shape != joints.shape[:2]:
        raise ValueError(f"frame_mask {tuple(frame_mask.shape)} does not match joints {tuple(joints.shape[:2])}")
    frame_mask = frame_mask.bool()
    size = body_size(joints, frame_mask)
    root = joints[:, :, :1]
    positions = torch.cat([root, joints[:, :, 1:] - root], dim=2) / size[:, None, None, None]
    real = frame_mask[..., None, None].to(joints.dtype)
    positions = positions * real
    step = positions[:, 1:] - positions[:, :-1]
    both_real = (frame_mask[:, 1:] & frame_mask[:, :-1])[..., None, None].to(joints.dtype)
    velocities = torch.cat([torch.zeros_like(positions[:, :1]), step * both_real], dim=1) * FPS
    return MotionFeatures(positions, velocities, size, frame_mask)


def velocity_of(positions: torch.Tensor) -> torch.Tensor:
    """Frame-difference velocity (B, T-1, J, 3) in the same units as MotionFeatures.velocities."""
    return (positions[:, 1:] - positions[:, :-1]) * FPS
