"""Motion encoder (paper section 3.1; MoT++ input option): factorised spatial/temporal transformer.

joints (B, T, 22, 3) + frame mask -> featurise -> time patches of `patch_frames` frames -> one token per
(patch, joint) or (patch, body part) -> + spatial and temporal position embeddings -> blocks of
[attention over the tokens of one patch, attention over the patches of one joint/part, MLP]
-> linear projection to the text width. Per-joint features stay recoverable (`per_joint_features`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.models.config import ModelConfig
from engine.models.motion_features import FEATURES_PER_JOINT, MotionFeatures, featurise
from engine.skeleton import BODY_PARTS, JOINT_INDEX, NUM_JOINTS

PARTS: tuple[tuple[int, ...], ...] = tuple(BODY_PARTS.values())
# Foot-contact cues per side (ankle, foot), added to that side's leg token(s).
FOOT_SIDES = {"left_leg": (JOINT_INDEX["l_ankle"], JOINT_INDEX["l_foot"]),
              "right_leg": (JOINT_INDEX["r_ankle"], JOINT_INDEX["r_foot"])}


def token_groups(joint_tokens: str) -> tuple[tuple[int, ...], ...]:
    """Joints of each token, in token order: 7 body parts, or 22 single joints (part by part)."""
    if joint_tokens == "parts":
        return PARTS
    return tuple((j,) for part in PARTS for j in part)


@dataclass
class MotionTokens:
    tokens: torch.Tensor       # (B, Tp, P, H) in the text width H
    token_mask: torch.Tensor   # (B, Tp) bool, True = patch holds at least one real frame
    features: MotionFeatures   # the featurised input (reconstruction targets)
    joint_to_token: torch.Tensor  # (22,) long: token index holding each joint

    def per_joint_features(self, tokens: torch.Tensor | None = None) -> torch.Tensor:
        """(B, Tp, 22, C): each joint gets the features of the token it belongs to."""
        tokens = self.tokens if tokens is None else tokens
        return tokens.index_select(2, self.joint_to_token)


def patchify(x: torch.Tensor, frame_mask: torch.Tensor, patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, J, C) -> (B, Tp, J, patch*C) (zero-padded tail) and the (B, Tp) patch mask."""
    B, T, J, C = x.shape
    Tp = -(-T // patch)
    pad = Tp * patch - T
    x = F.pad(x, (0, 0, 0, 0, 0, pad))
    mask = F.pad(frame_mask, (0, pad))
    x = x.reshape(B, Tp, patch, J, C).permute(0, 1, 3, 2, 4).reshape(B, Tp, J, patch * C)
    return x, mask.reshape(B, Tp, patch).any(-1)


def mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, n_out))


class InputProjection(nn.Module):
    """Patched per-joint features (B, Tp, 22, patch*6) -> tokens (B, Tp, P, d).

    Plain: one linear shared by all joints ("joints") or one linear per body part over its joints'
    concatenated features ("parts"). MoT++: one MLP per body part (the root's is the root-trajectory MLP)
    plus a foot-contact MLP on ankle/foot heights and planar speeds, added to the leg tokens.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.per_part = cfg.joint_tokens == "parts"
        self.motpp = cfg.motpp
        d, width = cfg.motion_dim, cfg.patch_frames * FEATURES_PER_JOINT
        n_in = [width * (len(p) if self.per_part else 1) for p in PARTS]
        if self.motpp:
            self.parts = nn.ModuleList(mlp(n, d, 2 * d) for n in n_in)
            self.foot_contact = mlp(4 * cfg.patch_frames, d, d)
        elif self.per_part:
            self.parts = nn.ModuleList(nn.Linear(n, d) for n in n_in)
        else:
            self.shared = nn.Linear(width, d)  # one weight for every joint; the joint embedding tells them apart
            self.parts = None
        self.patch_frames = cfg.patch_frames

    def forward(self, patched: torch.Tensor, features: MotionFeatures) -> torch.Tensor:
        B, Tp = patched.shape[:2]
        out = []
        modules = self.parts if self.parts is not None else [self.shared] * len(PARTS)
        for part, module in zip(PARTS, modules):
            x = patched[:, :, list(part)]
            x = x.reshape(B, Tp, 1, -1) if self.per_part else x
            y = module(x)
            if self.motpp and part in (BODY_PARTS["left_leg"], BODY_PARTS["right_leg"]):
                side = "left_leg" if part == BODY_PARTS["left_leg"] else "right_leg"
                y = y + self.foot_contact(self._contact_cues(features, FOOT_SIDES[side], B, Tp))
            out.append(y)
        return torch.cat(out, dim=2)

    def _contact_cues(self, f: MotionFeatures, joints: tuple[int, int], B: int, Tp: int) -> torch.Tensor:
        """(B, Tp, 1, 4*patch): world height and planar speed of the ankle and foot per frame."""
        ix = list(joints)
        height = f.positions[:, :, ix, 1] + f.positions[:, :, :1, 1]
        planar = f.velocities[:, :, ix][..., [0, 2]] + f.velocities[:, :, :1][..., [0, 2]]
        cues = torch.stack([height, planar.norm(dim=-1)], dim=-1)            # (B, T, 2, 2)
        patched, _ = patchify(cues, f.frame_mask, self.patch_frames)          # (B, Tp, 2, patch*2)
        return patched.reshape(B, Tp, 1, -1)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        N, L, D = x.shape
        q, k, v = self.qkv(x).reshape(N, L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(N, L, D))


class FactorisedBlock(nn.Module):
    """Spatial attention (tokens of one patch), temporal attention (patches of one token), MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int, dropout: float):
        super().__init__()
        self.norm_s, self.norm_t, self.norm_m = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.spatial = Attention(dim, heads, dropout)
        self.temporal = Attention(dim, heads, dropout)
        self.mlp = nn.Sequential(mlp(dim, dim, mlp_ratio * dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        B, Tp, P, D = x.shape
        s = x.reshape(B * Tp, P, D)
        x = x + self.spatial(self.norm_s(s)).reshape(B, Tp, P, D)
        t = x.transpose(1, 2).reshape(B * P, Tp, D)
        keys = token_mask[:, None, :].expand(B, P, Tp).reshape(B * P, Tp)
        x = x + self.temporal(self.norm_t(t), keys).reshape(B, P, Tp, D).transpose(1, 2)
        return x + self.mlp(self.norm_m(x))


class MotionEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig, out_dim: int = 384):
        super().__init__()
        self.cfg = cfg
        self.groups = token_groups(cfg.joint_tokens)
        d = cfg.motion_dim
        self.project_in = InputProjection(cfg)
        self.size_embedding = nn.Linear(1, d)   # log body size: keeps the model scale-aware
        self.spatial_pos = nn.Parameter(torch.zeros(1, 1, len(self.groups), d))
        self.temporal_pos = nn.Parameter(torch.zeros(1, cfg.max_patches, 1, d))
        self.mask_token = nn.Parameter(torch.zeros(d))  # replaces masked tokens in CMMM's masked view
        nn.init.trunc_normal_(self.spatial_pos, std=0.02)
        nn.init.trunc_normal_(self.temporal_pos, std=0.02)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(FactorisedBlock(d, cfg.motion_heads, cfg.motion_mlp_ratio, cfg.dropout)
                                    for _ in range(cfg.motion_depth))
        self.norm = nn.LayerNorm(d)
        self.project_out = nn.Linear(d, out_dim)
        joint_to_token = torch.empty(NUM_JOINTS, dtype=torch.long)
        for t, group in enumerate(self.groups):
            joint_to_token[list(group)] = t
        self.register_buffer("joint_to_token", joint_to_token, persistent=False)

    @property
    def num_tokens(self) -> int:
        return len(self.groups)

    def forward(self, joints: torch.Tensor, frame_mask: torch.Tensor,
                masked: torch.Tensor | None = None) -> MotionTokens:
        """joints (B, T, 22, 3), frame_mask (B, T) bool; masked (B, Tp, P) bool = tokens to hide (CMMM)."""
        if joints.shape[1] > self.cfg.max_frames:
            raise ValueError(f"clip has {joints.shape[1]} frames; this model covers at most {self.cfg.max_frames}")
        frame_mask = frame_mask.bool()
        if not frame_mask.any(1).all():
            raise ValueError("every motion in the batch needs at least one real frame")
        features = featurise(joints, frame_mask)
        patched, token_mask = patchify(features.inputs(), frame_mask, self.cfg.patch_frames)
        x = self.project_in(patched, features)
        # InputProjection emits tokens part by part, which is self.groups' order in both modes.
        if masked is not None:
            x = torch.where(masked[..., None], self.mask_token.to(x.dtype), x)
        Tp = x.shape[1]
        x = x + self.spatial_pos + self.temporal_pos[:, :Tp]
        x = x + self.size_embedding(features.size.log()[:, None])[:, None, None, :]
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, token_mask)
        tokens = self.project_out(self.norm(x))
        return MotionTokens(tokens, token_mask, features, self.joint_to_token)

    def per_joint_features(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, Tp, P, C) -> (B, Tp, 22, C): part tokens spread back to their joints."""
        return tokens.index_select(2, self.joint_to_token)

