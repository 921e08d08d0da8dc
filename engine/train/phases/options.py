"""The options of the contrastive phases, each a config switch (DESIGN.md, "options from the other seeds").

- CCCL (MoT++): KL between the cross-modal score distributions and the uni-modal similarities,
  weight ramped linearly from 0 to train.cccl_weight over the phase.
- Triplets (Yan et al. 2023): SH loss (all negatives, none dropped) during the warm-up, then negatives
  whose intra-modal similarity to the positive exceeds train.triplet_threshold are dropped as false
  negatives; "mild" keeps each anchor's hardest remaining negative (MildTriple), "drop" sums them all.
- 1/LER (LoDE): exp(-entropy) of each joint's (time x channel) feature matrix, against dimension collapse.
All scores here are cosines of the (gathered, global-batch) vectors, whatever their scale in the main loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..losses import cccl_loss, linear_lambda, triplet_drop_loss


def alignment_options(cfg, text: torch.Tensor, motion: torch.Tensor, step: int, total_steps: int):
    """Extra loss and logged terms for (B, D) text and motion vectors of the global batch."""
    if not cfg.cccl and cfg.triplet == "none":
        return 0.0, {}
    t, m = F.normalize(text.float(), dim=-1), F.normalize(motion.float(), dim=-1)
    scores, sim_tt, sim_mm = t @ m.T, t @ t.T, m @ m.T
    loss, terms = 0.0, {}
    if cfg.cccl:
        weight = cfg.cccl_weight * linear_lambda(step, total_steps)
        term = cccl_loss(scores, sim_tt, sim_mm, cfg.cccl_temperature)
        loss, terms["cccl"], terms["cccl_weight"] = loss + weight * term, term.detach(), weight
    if cfg.triplet != "none":
        warm = step < cfg.triplet_warmup * total_steps
        threshold = float("inf") if warm else cfg.triplet_threshold
        term = triplet_drop_loss(scores, sim_tt, sim_mm, cfg.triplet_margin, threshold, threshold,
                                 hardest=not warm and cfg.triplet == "mild")
        loss, terms["triplet"] = loss + cfg.triplet_weight * term, term.detach()
    return loss, terms


def inverse_ler_term(cfg, tokens):
    """1/LER of the per-joint motion features (B*22 matrices of Tp x C), weighted by train.inverse_ler."""
    if cfg.inverse_ler <= 0:
        return 0.0, {}
    from ...metrics.feature_health import inverse_ler_loss
    per_joint = tokens.per_joint_features()                     # (B, Tp, 22, C)
    term = inverse_ler_loss(per_joint.permute(0, 2, 1, 3))      # (B, 22, Tp, C)
    return cfg.inverse_ler * term, {"inverse_ler": term.detach()}
