"""A frozen copy of the text side (encoder + MLM head) as a phase began, to keep captions' words.

LexCMLP trains the text encoder and the shared MLM head; on Bandai it learned to read "left" in
"raises their left hand" as the past tense of *leave* ("return, arrive") and the motions followed their
captions. The anchor term 1 - cos(p_t, sg(p_t^0)) (ours) keeps each caption's lexical vector near the one
the phase started from, where LexMLM put the caption's own words; with `anchor_literal` the target
weighs the caption's own words fully and the words they expand to less.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ...models.lexical import lexical_pool


class TextAnchor(nn.Module):
    """p_t^0 from the text encoder and head as they were when the phase started (never trained)."""

    def __init__(self, model):
        super().__init__()
        # One deepcopy of both keeps the head's decoder tied to the copied word embeddings.
        self.backbone, self.head = copy.deepcopy((model.text_backbone, model.mlm_head))
        self.lexicon = model.lexicon
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        return self.lexicon.scored_weights(lexical_pool(self.head(hidden, self.lexicon.head_ids()), mask))
