"""The caption head (ours): from a motion's lexical vector to the lexical vector its captions would have.

A motion's vector says what the motion activates; its captions say it in their own words. On Bandai the
motion names its style with the style's own word in only 67% of test takes, yet a linear probe reads the
style from the same 64 terms in 97%: the information is there, spread over other words. Captioning
therefore decodes from the vector the captions would have, predicted by a linear map

    c_hat = top_k(relu(x W)),   x = the motion's lex_top_k terms, L2-normalised,   W = U V  (rank r),

fitted in closed form at the end of caption tuning (phases/caption.py) by ridge regression from the
training clips' x to the mean of their captions' text lexical vectors (lex_top_k terms each):

    W = argmin ||X W - T||^2 + lambda ||W||^2 = X^T (X X^T + lambda I)^-1 T,

kept at its best rank r (randomised SVD). Only the lexicon terms that some training x (rows) or some target
(columns) uses take part, so a full 30,522-term vocabulary costs no more than the terms the data uses.
On Bandai's validation split decoding from c_hat rather than p_m raised CIDEr from 1.69 to 1.75; rank 64
did as well as the full map (bench/bandai_notes.md).

The head holds no weights until it is fitted (its buffers are None, so they are not in the state dict):
checkpoints written before it existed load unchanged and caption from p_m as before.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn as nn
import torch.nn.functional as F

from .lexical import keep_top_k


class CaptionHead(nn.Module):
    def __init__(self, top_k: int):
        super().__init__()
        self.top_k = top_k
        self.register_buffer("down", None)   # (len(lexicon), r)
        self.register_buffer("up", None)     # (r, len(lexicon))

    @property
    def fitted(self) -> bool:
        return self.down is not None

    def set_map(self, down: torch.Tensor, up: torch.Tensor) -> None:
        if down.dim() != 2 or up.dim() != 2 or down.shape[1] != up.shape[0] or down.shape[0] != up.shape[1]:
            raise ValueError(f"caption head factors must be (L, r) and (r, L), got {tuple(down.shape)} and "
                             f"{tuple(up.shape)}")
        self.down, self.up = down.float(), up.float()

    def inputs(self, p: torch.Tensor) -> torch.Tensor:
        """x: the motion vector's top_k terms, L2-normalised (what the map was fitted on)."""
        return F.normalize(keep_top_k(p.float(), self.top_k), dim=-1)

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        """(B, L) motion lexical vectors -> (B, L) predicted caption vectors (top_k non-negative terms)."""
        if not self.fitted:
            raise RuntimeError("the caption head is not fitted (caption tuning fits it)")
        return keep_top_k((self.inputs(p) @ self.down @ self.up).clamp_min(0), self.top_k)


@torch.no_grad()
def fit_low_rank_ridge(x: sp.csr_matrix, t: sp.csr_matrix, rank: int, ridge: float,
                       seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(down (L, r), up (r, L)): the rank-r truncation of the ridge map from the rows of x (n, L), each
    L2-normalised as `CaptionHead.inputs` does, to the rows of t (n, L). Sparse in, dense factors out."""
    if x.shape != t.shape:
        raise ValueError(f"inputs and targets must have one shape, got {x.shape} and {t.shape}")
    if ridge <= 0 or rank < 1:
        raise ValueError("the caption head needs ridge > 0 and rank >= 1")
    x, t = sp.csr_matrix(x), sp.csr_matrix(t)
    rows, cols = np.unique(x.indices), np.unique(t.indices)     # terms some input / some target uses
    if not len(rows) or not len(cols):
        raise ValueError("cannot fit the caption head: the inputs or the targets are all zero")
    xs = F.normalize(torch.from_numpy(x[:, rows].toarray()).double(), dim=-1)
    ts = torch.from_numpy(t[:, cols].toarray()).double()
    n, d = xs.shape
    if n <= d:   # the dual form solves an n x n system, the primal a d x d one
        w = xs.T @ torch.linalg.solve(xs @ xs.T + ridge * torch.eye(n, dtype=xs.dtype), ts)
    else:
        w = torch.linalg.solve(xs.T @ xs + ridge * torch.eye(d, dtype=xs.dtype), xs.T @ ts)
    r = min(rank, *w.shape)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)                      # svd_lowrank draws a random sketch: keep fits reproducible
    u, s, v = torch.svd_lowrank(w, q=min(r + 16, *w.shape), niter=8)
    torch.random.set_rng_state(generator_state)
    down = torch.zeros(x.shape[1], r)
    up = torch.zeros(r, x.shape[1])
    down[torch.from_numpy(rows)] = (u[:, :r] * s[:r]).float()
    up[:, torch.from_numpy(cols)] = v[:, :r].T.float()
    return down, up
