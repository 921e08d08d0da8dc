"""Lexical bottleneck masked decoder (paper Eq. 4): reconstruct masked text from p alone.

Eq. 4: E_cbow = p . sg(W_te). Ours (model.cbow_normalise, on in `tiny`, off in `paper`): divided by the
mass of p, sum_k p_k + eps, so the bag of words p reads as a weighted average of word embeddings. That
keeps E_cbow on the scale of the token embeddings it sits beside and makes it independent of the overall
magnitude of p, which the FLOPs regulariser keeps pushing down; only *which* words p weights, relative to
one another, gets through.
E_cbow is prepended to the (word + position) embeddings of the masked text, the only content source when
every word is masked; a small transformer then predicts the masked tokens through an MLM head tied to
sg(W_te). The decoder never moves the word embeddings: every read of W_te is detached.
At 100% masking this is the captioner (mask-predict decoding: `cbow` once, then `decode` repeatedly).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.models.config import ModelConfig
from engine.models.mlm_head import MLMHead


def _matrix(word_embeddings) -> torch.Tensor:
    return word_embeddings.weight if isinstance(word_embeddings, nn.Embedding) else word_embeddings


class BottleneckDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig, hidden: int = 384, vocab_size: int = 30522, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.normalise = cfg.cbow_normalise
        self.positions = nn.Parameter(torch.zeros(1, cfg.max_text_len + 1, hidden))  # +1: the E_cbow slot
        nn.init.trunc_normal_(self.positions, std=0.02)
        self.norm_in = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(cfg.dropout)
        layer = nn.TransformerEncoderLayer(hidden, cfg.decoder_heads, 2 * hidden, cfg.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, cfg.decoder_layers, enable_nested_tensor=False)
        self.norm_out = nn.LayerNorm(hidden)
        self.head = MLMHead(None, hidden, vocab_size, detach_embeddings=True)  # tied to sg(W_te), own bias

    def cbow(self, p: torch.Tensor, word_embeddings, lexicon_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. 4: p (B, V or len(lexicon)) -> E_cbow (B, hidden), through stop-gradient word embeddings."""
        w = _matrix(word_embeddings).detach()
        if lexicon_ids is not None:
            w = w.index_select(0, lexicon_ids)
        e_cbow = p @ w
        return e_cbow / (p.sum(-1, keepdim=True) + self.eps) if self.normalise else e_cbow

    def decode(self, e_cbow: torch.Tensor, masked_input_ids: torch.Tensor, attention_mask: torch.Tensor,
               word_embeddings, lexicon_ids: torch.Tensor | None = None,
               positions: torch.Tensor | None = None) -> torch.Tensor:
        """E_cbow (B, H) + masked ids (B, L) -> logits (B, L, V or len(lexicon)); with a (B, L) boolean
        `positions`, logits (N, ...) of those positions only (the vocabulary projection is the costly part)."""
        w = _matrix(word_embeddings).detach()
        L = masked_input_ids.shape[1]
        if L + 1 > self.positions.shape[1]:
            raise ValueError(f"{L} tokens exceed the decoder's {self.positions.shape[1] - 1} positions (max_text_len)")
        x = torch.cat([e_cbow[:, None, :], F.embedding(masked_input_ids, w)], dim=1)
        x = self.drop(self.norm_in(x + self.positions[:, : L + 1]))
        keep = torch.cat([attention_mask.new_ones(attention_mask.shape[0], 1), attention_mask], dim=1).bool()
        x = self.norm_out(self.layers(x, src_key_padding_mask=~keep))[:, 1:]
        return self.head(x if positions is None else x[positions], lexicon_ids, weight=w)

    def forward(self, p: torch.Tensor, masked_input_ids: torch.Tensor, attention_mask: torch.Tensor,
                word_embeddings, lexicon_ids: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.cbow(p, word_embeddings, lexicon_ids), masked_input_ids, attention_mask,
                           word_embeddings, lexicon_ids)
