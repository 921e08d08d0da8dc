"""BERT's masked-LM head: dense + GELU + LayerNorm, then a decoder tied to the word embeddings, + bias.

The MiniLM backbone ships without one, so phase 1 (LexMLM) trains it. The tied matrix is read from the
backbone at call time (not registered here), so checkpoints store it once; a head built without one (the
bottleneck decoders) is handed the matrix per call. `ids` restricts the decoder to a Lexicon's term ids:
logits are computed for those rows only (index_select on matrix and bias).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class MLMHead(nn.Module):
    def __init__(self, word_embeddings: nn.Embedding | None, hidden: int = 384, vocab_size: int | None = None,
                 eps: float = 1e-12, detach_embeddings: bool = False):
        super().__init__()
        vocab_size = word_embeddings.num_embeddings if word_embeddings is not None else vocab_size
        self.dense = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        self._tied = [word_embeddings]   # a list hides the module from registration: no duplicate weights
        self.detach_embeddings = detach_embeddings  # the bottleneck decoders' stop-gradient (Eq. 4's sg)

    def transform(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.norm(F.gelu(self.dense(hidden)))

    def decode(self, transformed: torch.Tensor, ids: torch.Tensor | None = None,
               weight: torch.Tensor | None = None) -> torch.Tensor:
        w = self._tied[0].weight if weight is None else weight
        w = w.detach() if self.detach_embeddings else w
        b = self.bias
        if ids is not None:
            w, b = w.index_select(0, ids), b.index_select(0, ids)
        return F.linear(transformed, w, b)

    def forward(self, hidden: torch.Tensor, ids: torch.Tensor | None = None,
                weight: torch.Tensor | None = None) -> torch.Tensor:
        """(..., hidden) -> (..., V) logits, or (..., len(ids)) for a restricted lexicon."""
        return self.decode(self.transform(hidden), ids, weight)
