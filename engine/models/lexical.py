"""The lexical disentanglement head (paper Eq. 1-3), SPLADE style.

Eq. 1: E_lex = LM-Head(E);  Eq. 2: p = log(1 + ReLU(MaxPool_seq(E_lex)));  Eq. 3: R = sum_k (mean_i p_k)^2.
For motion, |V| logits are never held for every token at once: either tokens are first max-pooled per
(time window x body part) and only those few vectors are projected (ours, model.lex_pool_windows > 0), or,
as the paper has it (lex_pool_windows = 0), the head reads every token and the max runs over chunks of
tokens, each chunk recomputed in the backward pass instead of kept.
"""
from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

TOKEN_CHUNK = 64   # motion tokens per LM-head call when the head reads every token


def lexical_pool(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 2: logits (B, L, V), mask (B, L) -> p (B, V) = max_L log(1 + relu(logits)) over real positions."""
    return torch.amax(torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1).to(logits.dtype), dim=1)


def keep_top_k(p: torch.Tensor, k: int) -> torch.Tensor:
    """(B, V) -> the same with all but each row's k largest weights set to 0 (k <= 0: unchanged).
    Gradients reach the kept weights only, so training learns to put what matters into the top k."""
    if k <= 0 or k >= p.shape[-1]:
        return p
    values, ids = p.topk(k, dim=-1)
    return torch.zeros_like(p).scatter(-1, ids, values)


def flops_regularizer(p: torch.Tensor) -> torch.Tensor:
    """Eq. 3: sum over terms of the squared batch-mean weight (Paria et al. 2020)."""
    return p.mean(dim=0).square().sum()


class FlopsWeightSchedule:
    """SPLADE's regulariser weight: target * min(1, (step / ramp_steps)^2)."""

    def __init__(self, target: float, ramp_steps: int):
        self.target, self.ramp_steps = float(target), int(ramp_steps)

    def __call__(self, step: int) -> float:
        if self.ramp_steps <= 0 or step >= self.ramp_steps:
            return self.target
        return self.target * (max(step, 0) / self.ramp_steps) ** 2


def window_pool(tokens: torch.Tensor, token_mask: torch.Tensor, windows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Max-pool motion tokens (B, Tp, P, H) into (B, W, P, H) time windows -> ((B, W*P, H), (B, W*P) mask).

    Windows split each motion's *real* patches evenly, so a short clip still fills every window it can;
    windows with no real patch (clips shorter than W patches) are masked out.
    """
    B, Tp, P, H = tokens.shape
    n_real = token_mask.sum(1, keepdim=True).clamp_min(1)                        # (B, 1)
    t = torch.arange(Tp, device=tokens.device).unsqueeze(0)
    window = torch.where(token_mask, (t * windows) // n_real, torch.full_like(t, windows))  # padding -> W
    index = window[:, :, None, None].expand(B, Tp, P, H)
    pooled = tokens.new_full((B, windows + 1, P, H), float("-inf"))
    pooled = pooled.scatter_reduce(1, index, tokens, reduce="amax", include_self=False)[:, :windows]
    filled = torch.zeros(B, windows + 1, dtype=torch.bool, device=tokens.device)
    filled = filled.scatter(1, window, True)[:, :windows]                       # (B, W)
    pooled = torch.where(filled[:, :, None, None], pooled, torch.zeros_like(pooled))
    return pooled.reshape(B, windows * P, H), filled[:, :, None].expand(B, windows, P).reshape(B, windows * P)


def motion_lexical(tokens: torch.Tensor, token_mask: torch.Tensor, mlm_head, windows: int,
                   ids: torch.Tensor | None = None) -> torch.Tensor:
    """Motion tokens (B, Tp, P, H) -> p (B, V or len(ids)): LM-head (Eq. 1), SPLADE pooling (Eq. 2);
    windows > 0 max-pools the tokens into windows x parts first, windows = 0 reads every token."""
    if windows > 0:
        pooled, mask = window_pool(tokens, token_mask, windows)
        return lexical_pool(mlm_head(pooled, ids), mask)
    B, Tp, P, H = tokens.shape
    flat = tokens.reshape(B, Tp * P, H)
    mask = token_mask[:, :, None].expand(B, Tp, P).reshape(B, Tp * P)

    def chunk_max(x, m):
        return lexical_pool(mlm_head(x, ids), m)

    p = None
    for a in range(0, Tp * P, TOKEN_CHUNK):
        x, m = flat[:, a:a + TOKEN_CHUNK], mask[:, a:a + TOKEN_CHUNK]
        part = checkpoint(chunk_max, x, m, use_reentrant=False) if torch.is_grad_enabled() else chunk_max(x, m)
        p = part if p is None else torch.maximum(p, part)
    return p
