"""The caption head (ours): from a motion's lexical vector to the lexical vector its captions would have.

A motion's vector says what the motion activates; its captions say it in their own words. On Bandai the
motion names its style with the style's own word in only 67% of test takes, yet a linear probe reads the
style from the same 64 terms in 97%: the information is there, spread over other words. Captioning
therefore decodes from the vector the captions would have, predicted by a linear map

    c_hat = top_k(relu(x W)),   x = the motion's lex_top_k terms, L2-normalised,   W = U V  (rank r),

fitted in closed form at the end of caption tuning (phases/caption.py) by ridge regression from the
training clips' x to the mean of their captions' text lexical vectors (lex_top_k terms each):

    W = argmin ||X W - T||^2 + lambda ||W||^2 = X^T (X X^T + lambda I)^-1 T,

kept at its best rank r. W itself (L x L: 30,522^2 with the full vocabulary) is never formed: with the
eigendecomposition X X^T = U diag(e) U^T, W m = X^T U diag(1 / (e + lambda)) U^T (T m) needs only sparse
products and n x n matrices, and a randomised SVD (Halko et al. 2011, range finder with power iterations)
reads W through such products alone. The fit uses at most `max_clips` training clips (evenly spaced), so
its memory is bounded (2 x 8,192^2 doubles = 1 GB) whatever the dataset. On Bandai's validation split
decoding from c_hat rather than p_m raised CIDEr from 1.69 to 1.76; rank 64 did as well as the full map
(bench/bandai_notes.md).

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


MAX_CLIPS = 8192


def evenly_spaced(n: int, limit: int = MAX_CLIPS) -> np.ndarray:
    """Indices of at most `limit` of n items, evenly spread (all of them when n <= limit)."""
    return np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).round().astype(int)


def fit_low_rank_ridge(x: sp.spmatrix, t: sp.spmatrix, rank: int, ridge: float, max_clips: int = MAX_CLIPS,
                       oversample: int = 16, power_iterations: int = 6,
                       seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(down (L, r), up (r, L)): the rank-r truncation of the ridge map from the rows of x (n, L), each
    L2-normalised as `CaptionHead.inputs` does, to the rows of t (n, L). Sparse in, dense factors out."""
    if x.shape != t.shape:
        raise ValueError(f"inputs and targets must have one shape, got {x.shape} and {t.shape}")
    if ridge <= 0 or rank < 1:
        raise ValueError("the caption head needs ridge > 0 and rank >= 1")
    keep = evenly_spaced(x.shape[0], max_clips)
    x, t = sp.csr_matrix(x, dtype=np.float64)[keep], sp.csr_matrix(t, dtype=np.float64)[keep]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1))).ravel()
    x = sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ x)
    if not x.nnz or not t.nnz:
        raise ValueError("cannot fit the caption head: the inputs or the targets are all zero")
    eigenvalues, basis = np.linalg.eigh((x @ x.T).toarray())
    shrink = 1.0 / (np.clip(eigenvalues, 0.0, None) + ridge)

    def apply(m):              # W m, m (L, k)
        return x.T @ (basis @ (shrink[:, None] * (basis.T @ (t @ m))))

    def apply_transposed(m):   # W^T m
        return t.T @ (basis @ (shrink[:, None] * (basis.T @ (x @ m))))

    r = min(rank, *x.shape)
    sketch = np.random.default_rng(seed).standard_normal((x.shape[1], min(r + oversample, x.shape[1])))
    q = np.linalg.qr(apply(sketch))[0]
    for _ in range(power_iterations):     # sharpen the range toward the leading singular vectors
        q = np.linalg.qr(apply(np.linalg.qr(apply_transposed(q))[0]))[0]
    left, singular, right = np.linalg.svd(apply_transposed(q).T, full_matrices=False)   # q^T W = left s right
    down = torch.from_numpy((q @ left[:, :r]) * singular[:r]).float()
    up = torch.from_numpy(right[:r]).float()
    return down, up
