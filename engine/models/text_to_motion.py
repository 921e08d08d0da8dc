"""The text-to-motion generator as one module (denoiser + length head) and its sampling path.

`TextToMotion` is what a generator checkpoint stores. `sample` is the one sampling function that serving,
SoPo's online samples, the offline-DPO pairs and the evaluation all call: DDIM over `steps` evenly spaced
steps with classifier-free guidance (engine.models.diffusion), at given lengths, every random draw from
one torch.Generator, in eval mode and without gradients. `decode` turns the normalised features into
canonical joints through the checkpoint's Normalizer and features263.features_to_joints (numpy, exact),
then motion_io.foot_lock and motion_io.smoothing when asked.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from .diffusion import CosineSchedule, ddim_sample
from .generator import GeneratorConfig, LengthHead, MotionDenoiser

TRAIN_STEPS = 1000   # diffusion steps of the schedule (MDM's T = 1000)


class TextToMotion(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        self.denoiser = MotionDenoiser(cfg)
        self.length_head = LengthHead(cfg.cond_dim, hidden=256, max_frames=cfg.max_frames)
        self.schedule = CosineSchedule(TRAIN_STEPS)


def frame_mask(lengths: torch.Tensor, frames: int | None = None) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool, True on the first lengths[i] frames (T = the longest by default)."""
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    frames = int(lengths.max()) if frames is None else frames
    return torch.arange(frames, device=lengths.device)[None] < lengths[:, None]


def repeat_condition(cond: dict, k: int) -> dict:
    """Each row of every tensor of `cond` repeated k times in place (row i -> rows i*k .. i*k+k-1)."""
    return {key: None if v is None else v.repeat_interleave(k, dim=0) for key, v in cond.items()}


def condition_rows(cond: dict, rows) -> dict:
    return {key: None if v is None else v[rows] for key, v in cond.items()}


@torch.no_grad()
def predict_lengths(model: TextToMotion, cond: dict) -> torch.Tensor:
    """(B,) most likely lengths in frames from the length head."""
    was = model.training
    model.eval()
    logits = model.length_head(cond["cond_token"], cond.get("cond_states"), cond.get("cond_mask"))
    model.train(was)
    return model.length_head.predict(logits)


@torch.no_grad()
def sample(model: TextToMotion, cond: dict, lengths, steps: int = 50, guidance: float = 2.5,
           generator: torch.Generator | None = None,
           guidance_below: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised features (B, T, 263) and their frame mask (B, T) for the (B,) lengths in frames; guidance
    at the steps t < guidance_below only (None: every step; callers pass train.generator.guidance_below)."""
    device = cond["cond_token"].device
    mask = frame_mask(torch.as_tensor(lengths, device=device))
    was = model.training
    model.eval()
    x = ddim_sample(model.denoiser.denoise, (mask.shape[0], mask.shape[1], model.cfg.features), cond,
                    steps=steps, guidance=guidance, generator=generator, mask=mask, schedule=model.schedule,
                    guidance_below=guidance_below)
    model.train(was)
    return x, mask


def decode(features: torch.Tensor, mask: torch.Tensor, normalizer, smoothing: float = 0.0,
           foot_lock: bool = False) -> list[np.ndarray]:
    """Normalised features + mask -> one canonical (T_i, 22, 3) float32 joint array per row: planted feet locked
    by the generated foot contacts when `foot_lock` (motion_io.foot_lock), then smoothed over time by a Gaussian
    of `smoothing` frames (0: the raw output). Serving and evaluation pass the generator's train.generator
    smoothing and foot_lock; training's own samples stay raw."""
    from ..motion_io.features263 import FEATURE_BLOCKS, features_to_joints
    from ..motion_io.foot_lock import lock_feet, planted_toes
    from ..motion_io.smoothing import smooth_joints

    x = features.detach().float().cpu().numpy()
    out = []
    for i, n in enumerate(mask.sum(1).cpu().tolist()):
        rows = normalizer.denormalize(x[i, :n])
        joints = features_to_joints(rows)
        if foot_lock:
            joints = lock_feet(joints, planted_toes(joints, rows[:, FEATURE_BLOCKS["contacts"]]))
        out.append(smooth_joints(joints, smoothing))
    return out


def generator_seed(seed: int) -> torch.Generator:
    """The CPU generator every sampler draws from (CPU draws, then moved: one seed, one result on any device)."""
    return torch.Generator().manual_seed(int(seed))


def lengths_tensor(lengths: Sequence[int] | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(list(lengths) if not torch.is_tensor(lengths) else lengths, dtype=torch.long)
