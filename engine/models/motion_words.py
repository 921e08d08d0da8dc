"""Ours: a low-rank correction of the word embeddings the motion side reads (a LoRA on the tied LM decoder).

Text and motion share one MLM head, whose decoder is the text backbone's word-embedding matrix. Words whose
embeddings sit close ("jogging" and "run") then move together on the motion side too: to weigh one and not the
other a motion token must point along their small difference, which the motion encoder alone seldom learns.
This module adds A B to that matrix for the motion side only, A (vocab, rank) starting at zero (so a model it is
added to scores exactly as before) and B (rank, hidden) fixed at random: the motion side gets rank extra
directions per word to tell such words apart, while every text vector, and so every query and a generator's
condition, stays as it was. Off (rank 0) in both presets unless set; bench/RESULTS.md measures it.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class MotionWordShift(nn.Module):
    def __init__(self, vocab_size: int, hidden: int, rank: int, seed: int = 0):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(vocab_size, rank))
        generator = torch.Generator().manual_seed(seed)
        # each of the rank projections of a (layer-normed) token has a spread of sqrt(hidden / rank): the
        # corrections a learning rate of 1e-4 makes in a few hundred steps reach a logit or two, not a tenth
        self.register_buffer("basis", torch.randn(rank, hidden, generator=generator) / rank ** 0.5)

    def forward(self, transformed: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """(..., hidden) head-transformed tokens -> (..., V or len(ids)) logit corrections."""
        shift = self.shift if ids is None else self.shift.index_select(0, ids)
        return (transformed @ self.basis.T) @ shift.T
