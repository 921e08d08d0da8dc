"""CMMM's reconstruction head (Eq. 6): each motion token predicts its own joints' featurised positions
for every frame of its time patch, so a part token is answerable for exactly the joints it holds."""
from __future__ import annotations

import torch
import torch.nn as nn

from engine.models.config import ModelConfig
from engine.models.motion_encoder import token_groups
from engine.skeleton import NUM_JOINTS


class ReconstructionHead(nn.Module):
    def __init__(self, cfg: ModelConfig, hidden: int = 384):
        super().__init__()
        self.groups = token_groups(cfg.joint_tokens)
        self.patch_frames = cfg.patch_frames
        self.heads = nn.ModuleList(nn.Linear(hidden, cfg.patch_frames * len(g) * 3) for g in self.groups)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, Tp, P, H) -> (B, Tp * patch_frames, 22, 3) in the featurised space (MotionFeatures.positions)."""
        B, Tp = tokens.shape[:2]
        out = tokens.new_zeros(B, Tp, self.patch_frames, NUM_JOINTS, 3)
        for t, (group, head) in enumerate(zip(self.groups, self.heads)):
            out[:, :, :, list(group)] = head(tokens[:, :, t]).reshape(B, Tp, self.patch_frames, len(group), 3)
        return out.reshape(B, Tp * self.patch_frames, NUM_JOINTS, 3)
