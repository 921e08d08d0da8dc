"""Masking for the masked-modelling objectives (Eq. 5-7) and the mask-ratio curriculum.

Counts are exact per row (round(ratio x candidates), at least one when ratio > 0), so 100% masks every
word: the decoder then reconstructs the caption from E_cbow alone (captioning).
"""
from __future__ import annotations

from typing import Iterable

import torch


def choose_positions(candidates: torch.Tensor, ratio: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Bool (B, ...) mask choosing round(ratio x n) of each row's True candidates uniformly at random."""
    flat = candidates.reshape(candidates.shape[0], -1)
    scores = torch.rand(flat.shape, generator=generator, device=flat.device)
    scores = scores.masked_fill(~flat, 2.0)                        # non-candidates sort last
    rank = scores.argsort(dim=1).argsort(dim=1)
    n = flat.sum(1, keepdim=True)
    k = (n.float() * ratio).round().long()
    k = torch.where((ratio > 0) & (n > 0), k.clamp(1), k).clamp(max=n)
    return ((rank < k) & flat).reshape(candidates.shape)


def mask_tokens(ids: torch.Tensor, attention_mask: torch.Tensor, ratio: float, mask_id: int,
                special_ids: Iterable[int], generator: torch.Generator | None = None,
                vocab_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (masked_ids, labels); labels hold the original id at chosen positions and -100 elsewhere.

    With vocab_size: BERT's 80/10/10 (80% [MASK], 10% a random id, 10% unchanged), for the encoder MLM.
    Without: every chosen position becomes [MASK], for the bottleneck decoders.
    """
    special = torch.tensor(sorted(set(special_ids)), dtype=ids.dtype, device=ids.device)
    candidates = attention_mask.bool() & ~torch.isin(ids, special)
    chosen = choose_positions(candidates, ratio, generator)
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    masked = ids.clone()
    if vocab_size is None:
        return masked.masked_fill(chosen, mask_id), labels
    roll = torch.rand(ids.shape, generator=generator, device=ids.device)
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator, device=ids.device, dtype=ids.dtype)
    masked = torch.where(chosen & (roll < 0.8), torch.full_like(ids, mask_id), masked)
    masked = torch.where(chosen & (roll >= 0.8) & (roll < 0.9), random_ids, masked)
    return masked, labels


def mask_motion_tokens(token_mask: torch.Tensor, num_tokens: int, ratio: float,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, Tp) real patches -> (B, Tp, P) bool: the motion tokens CMMM's masked view hides."""
    candidates = token_mask.bool()[:, :, None].expand(-1, -1, num_tokens)
    return choose_positions(candidates, ratio, generator)


def curriculum_ratio(step: int, total: int, start: float, end: float) -> float:
    """Linear mask-ratio curriculum: start at step 0, end at step >= total (paper: 50->100%, 40->100%)."""
    if total <= 0:
        return end
    return start + (end - start) * min(max(step, 0) / total, 1.0)
