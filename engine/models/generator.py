"""Text-to-motion denoiser in the manner of MDM (Tevet et al. 2023), conditioned on the lexical text encoder.

A plain transformer encoder over the sequence
    [time token, condition token, text-state tokens (L), motion frames (T)]
predicts the clean motion x0_hat (B, T, 263) from the noised x_t (x0 parameterisation, see diffusion.py).
The time token is a sinusoidal embedding of t through an MLP; the condition token is the caption's sparse
lexical vector through the bottleneck (p . W_te, computed by the caller), the text states are the text
encoder's token states; both are projected to the model width. Frames get learned positional embeddings
(up to 196 frames, HumanML3D's longest clip). Padded frames and padded text states are keys no query sees.

Classifier-free guidance: rows with drop_mask True have their condition token replaced by a learned null
token and their text states by a single learned null state (the other positions masked out), so the
unconditional pass carries nothing of the caption, not even its length.

LengthHead: the number of frames as a classification over 1..max_frames from the condition token and the
mean text state. Classification rather than a regression of log length: a caption's lengths are often
multimodal ("walks forward" is 2 s or 8 s), and a distribution can be sampled as well as maximised.

generator_loss: MDM's simple loss, ||x0 - x0_hat||^2 over real frames, plus its optional geometric terms
(positions, velocities, foot contact) through a caller-supplied differentiable `to_joints`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.errors import SpecError
from engine.skeleton import JOINT_INDEX

FEET = tuple(JOINT_INDEX[n] for n in ("l_ankle", "l_foot", "r_ankle", "r_foot"))
CONDITIONS = ("lexical", "sentence")


@dataclass(frozen=True)
class GeneratorConfig:
    features: int = 263        # HumanML3D feature layout, normalised by the training mean/std
    cond_dim: int = 384        # width of the text side (p . W_te and the token states)
    width: int = 256
    depth: int = 4
    heads: int = 4
    ff: int = 1024
    dropout: float = 0.1
    max_frames: int = 196      # 9.8 s at 20 fps
    cond_drop: float = 0.1     # share of training rows the trainer runs with the null condition
    # What the condition is made of (models/text_condition.py): "lexical" = the caption's sparse lexical
    # vector through the bottleneck + the lexical model's token states; "sentence" = one generic sentence
    # embedding (mean-pooled base MiniLM states, no lexical head), the baseline of the lexical seed's C.2.
    condition: str = "lexical"

    def __post_init__(self):
        if self.width % self.heads:
            raise SpecError(f"generator.width ({self.width}) must divide by generator.heads ({self.heads})")
        for name in ("features", "cond_dim", "width", "depth", "heads", "ff", "max_frames"):
            if getattr(self, name) < 1:
                raise SpecError(f"generator.{name} must be >= 1, not {getattr(self, name)}")
        if self.condition not in CONDITIONS:
            raise SpecError(f"generator.condition must be one of {', '.join(CONDITIONS)}, not {self.condition!r}")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.cond_drop < 1.0:
            raise SpecError("generator.dropout and generator.cond_drop must be in [0, 1)")

    @classmethod
    def tiny(cls, **overrides) -> "GeneratorConfig":
        return replace(cls(width=128, depth=2, heads=4, ff=256), **overrides)

    @classmethod
    def paper(cls, **overrides) -> "GeneratorConfig":
        return replace(cls(width=512, depth=8, heads=4, ff=1024), **overrides)  # MDM's transformer encoder

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """(B,) steps -> (B, dim) sinusoids [cos(t w_i), sin(t w_i)], w_i = max_period^(-i / (dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    emb = torch.cat([angles.cos(), angles.sin()], dim=-1)
    return F.pad(emb, (0, dim % 2))


class MotionDenoiser(nn.Module):
    def __init__(self, cfg: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        self.cfg = cfg
        d = cfg.width
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.cond_proj = nn.Linear(cfg.cond_dim, d)
        self.states_proj = nn.Linear(cfg.cond_dim, d)
        self.null_token = nn.Parameter(torch.zeros(cfg.cond_dim))
        self.null_state = nn.Parameter(torch.zeros(cfg.cond_dim))
        self.frames_in = nn.Linear(cfg.features, d)
        self.frame_pos = nn.Parameter(torch.zeros(1, cfg.max_frames, d))
        for p in (self.null_token, self.null_state, self.frame_pos):
            nn.init.trunc_normal_(p, std=0.02)
        layer = nn.TransformerEncoderLayer(d, cfg.heads, cfg.ff, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.frames_out = nn.Linear(d, cfg.features)

    def null_condition(self, batch: int) -> dict:
        """The unconditional input: null token (B, D_c), one null state (B, 1, D_c) and its mask (B, 1)."""
        return {"cond_token": self.null_token.expand(batch, -1),
                "cond_states": self.null_state.expand(batch, 1, -1),
                "cond_mask": torch.ones(batch, 1, dtype=torch.bool, device=self.null_token.device)}

    def _apply_drop(self, token, states, mask, drop):
        """Rows with drop True: null token, null state at position 0, every other text position masked."""
        d = drop.to(token.device).bool()
        token = torch.where(d[:, None], self.null_token.to(token.dtype), token)
        first = torch.arange(states.shape[1], device=states.device) == 0
        null_states = torch.where(first[None, :, None], self.null_state.to(states.dtype), torch.zeros_like(states))
        states = torch.where(d[:, None, None], null_states, states)
        mask = torch.where(d[:, None], first[None, :].expand_as(mask), mask)
        return token, states, mask

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, frame_mask: torch.Tensor, cond_token: torch.Tensor,
                cond_states: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None,
                drop_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x_t (B, T, F), t (B,), frame_mask (B, T) True = real; cond_token (B, D_c); cond_states (B, L, D_c)
        with cond_mask (B, L); drop_mask (B,) True = null condition. Returns x0_hat (B, T, F), zero on padding."""
        B, T, _ = x_t.shape
        if T > self.cfg.max_frames:
            raise ValueError(f"{T} frames exceed the generator's {self.cfg.max_frames} (max_frames)")
        if cond_states is None:  # no token states: one masked-out placeholder keeps the layout
            cond_states = cond_token.new_zeros(B, 1, cond_token.shape[-1])
            cond_mask = torch.zeros(B, 1, dtype=torch.bool, device=cond_token.device)
        elif cond_mask is None:
            cond_mask = torch.ones(cond_states.shape[:2], dtype=torch.bool, device=cond_states.device)
        cond_mask, frame_mask = cond_mask.bool(), frame_mask.bool()
        if drop_mask is not None:
            cond_token, cond_states, cond_mask = self._apply_drop(cond_token, cond_states, cond_mask, drop_mask)
        time = self.time_mlp(timestep_embedding(t.to(x_t.device), self.cfg.width))[:, None]
        cond = self.cond_proj(cond_token)[:, None]
        states = self.states_proj(cond_states)
        frames = self.frames_in(x_t) + self.frame_pos[:, :T]
        x = torch.cat([time, cond, states, frames], dim=1)
        always = torch.ones(B, 2, dtype=torch.bool, device=x.device)
        keep = torch.cat([always, cond_mask, frame_mask], dim=1)
        y = self.norm(self.encoder(x, src_key_padding_mask=~keep))[:, -T:]
        return self.frames_out(y) * frame_mask[..., None].to(y.dtype)

    def denoise(self, x_t, t, cond: dict, drop, frame_mask):
        """The sampler's protocol (diffusion.ddim_sample): cond = dict(cond_token=, cond_states=, cond_mask=)."""
        return self(x_t, t, frame_mask, drop_mask=drop, **cond)


class LengthHead(nn.Module):
    """Number of frames as a class over 1..max_frames (class k = k + 1 frames) from [token, mean state]."""

    def __init__(self, cond_dim: int = 384, hidden: int = 256, max_frames: int = 196):
        super().__init__()
        self.max_frames = max_frames
        self.mlp = nn.Sequential(nn.Linear(2 * cond_dim, hidden), nn.GELU(), nn.Linear(hidden, max_frames))

    def forward(self, cond_token: torch.Tensor, cond_states: torch.Tensor | None = None,
                cond_mask: torch.Tensor | None = None) -> torch.Tensor:
        if cond_states is None:
            mean = torch.zeros_like(cond_token)
        else:
            w = (torch.ones(cond_states.shape[:2], device=cond_states.device) if cond_mask is None
                 else cond_mask.to(cond_states.dtype))
            mean = (cond_states * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp_min(1)
        return self.mlp(torch.cat([cond_token, mean], dim=-1))

    def predict(self, logits: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None,
                temperature: float = 1.0) -> torch.Tensor:
        """(B,) lengths in frames: the most likely one, or one drawn from softmax(logits / temperature)."""
        if not sample:
            return logits.argmax(-1) + 1
        probs = F.softmax(logits.float() / temperature, dim=-1)
        draw_on = generator.device if generator is not None else probs.device
        return torch.multinomial(probs.to(draw_on), 1, generator=generator).squeeze(1).to(logits.device) + 1


def length_loss(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the true length (frames, 1..max_frames) under the length head's classes."""
    return F.cross_entropy(logits.float(), (lengths.long() - 1).clamp(0, logits.shape[-1] - 1))


def masked_mse(x_hat: torch.Tensor, x: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """(B,) per-sample mean of (x_hat - x)^2 over real frames and feature/joint dimensions (MDM's masked_l2)."""
    sq = (x_hat - x).square().flatten(2).mean(-1)                    # (B, T)
    w = frame_mask.to(sq.dtype)
    return (sq * w).sum(1) / w.sum(1).clamp_min(1)


def geometric_terms(x0_hat: torch.Tensor, x0: torch.Tensor, frame_mask: torch.Tensor, to_joints, w_pos: float = 0.0,
                    w_vel: float = 0.0, w_foot: float = 0.0, foot_joints=FEET,
                    contact_threshold: float = 0.01, to_steps=None) -> dict[str, torch.Tensor]:
    """Per-sample (B,) terms of generator_loss: "simple", and each geometric term whose weight is > 0.
    The velocity and foot terms take their frame-to-frame displacements (B, T-1, J, 3) from `to_steps` when
    given (features_torch.root_frame_steps), else from the differences of to_joints (MDM's)."""
    frame_mask = frame_mask.bool()
    parts = {"simple": masked_mse(x0_hat, x0, frame_mask)}
    if max(w_pos, w_vel, w_foot) > 0:
        if to_joints is None and (w_pos > 0 or to_steps is None):
            raise ValueError("geometric losses (w_pos, w_vel, w_foot > 0) need a to_joints function")
        pairs = frame_mask[:, 1:] & frame_mask[:, :-1]
        if w_pos > 0:
            parts["pos"] = masked_mse(to_joints(x0_hat), to_joints(x0).detach(), frame_mask)
        if max(w_vel, w_foot) > 0:
            if to_steps is not None:
                v_hat, v = to_steps(x0_hat), to_steps(x0).detach()
            else:
                j_hat, j = to_joints(x0_hat), to_joints(x0).detach()
                v_hat, v = j_hat[:, 1:] - j_hat[:, :-1], j[:, 1:] - j[:, :-1]
        if w_vel > 0:
            parts["vel"] = masked_mse(v_hat, v, pairs)
        if w_foot > 0:
            feet = list(foot_joints)
            contact = (v[:, :, feet].norm(dim=-1) < contact_threshold).to(v.dtype)   # (B, T-1, 4)
            moved = v_hat[:, :, feet] * contact[..., None]
            parts["foot"] = masked_mse(moved, torch.zeros_like(moved), pairs)
    return parts


def weighted_terms(parts: dict[str, torch.Tensor], w_pos: float = 0.0, w_vel: float = 0.0,
                   w_foot: float = 0.0) -> torch.Tensor:
    """simple + w_pos pos + w_vel vel + w_foot foot, term by term (per sample or batch means alike)."""
    weights = {"simple": 1.0, "pos": w_pos, "vel": w_vel, "foot": w_foot}
    return sum(weights[k] * v for k, v in parts.items())


def generator_loss(x0_hat: torch.Tensor, x0: torch.Tensor, frame_mask: torch.Tensor, to_joints=None,
                   w_pos: float = 0.0, w_vel: float = 0.0, w_foot: float = 0.0, foot_joints=FEET,
                   contact_threshold: float = 0.01, to_steps=None) -> tuple[torch.Tensor, dict]:
    """MDM's loss (its section 3): L_simple = ||x0 - x0_hat||^2 over real frames
    + w_pos L_pos + w_vel L_vel + w_foot L_foot.

    With J = to_joints(features) (B, T, 22, 3), differentiable and denormalising as needed:
      L_pos  = ||J(x0) - J(x0_hat)||^2                                   (real frames)
      L_vel  = ||(J(x0)_{i+1} - J(x0)_i) - (J(x0_hat)_{i+1} - J(x0_hat)_i)||^2   (both frames real)
      L_foot = ||(J(x0_hat)_{i+1} - J(x0_hat)_i) * f_i||^2 over the foot joints, f_i = 1 where the ground-truth
               foot moves less than `contact_threshold` per frame (MDM's contact rule; metres at 20 fps).
    Each term is a per-sample mean (MDM's masked_l2; geometric_terms), then a batch mean. A weight of 0 skips
    the term. With `to_steps` (our addition, train.generator.geometry = "root"), J_{i+1} - J_i in L_vel and
    L_foot is replaced by the displacement in frame i's root frame (features_torch.root_frame_steps).
    Returns (total, parts) with parts mapping the computed terms to floats.
    """
    parts = {k: v.mean() for k, v in geometric_terms(x0_hat, x0, frame_mask, to_joints, w_pos, w_vel, w_foot,
                                                      foot_joints, contact_threshold, to_steps).items()}
    total = weighted_terms(parts, w_pos, w_vel, w_foot)
    return total, {k: float(v.detach()) for k, v in parts.items()}
