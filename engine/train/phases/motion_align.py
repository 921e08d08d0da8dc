"""Motion alignment (ours, after LexCMLP): LexCMLP's losses with the text side frozen.

The motion encoder (and its bottleneck decoder, through L_aux^2) keeps learning to meet the captions' lexical
vectors while the text encoder, the shared MLM head and the word embeddings stay exactly where LexCMLP left
them. Nothing a generator's text condition reads moves (generator_checkpoint.condition_hash), so the phase can
run on a finished checkpoint (`train --init`) and that checkpoint's generators stay valid; and a query's
vector is the same before and after, so only which motions answer it changes.
Trains: motion encoder, the motion bottleneck decoder.
"""
from __future__ import annotations

from .base import names_under
from .lexcmlp import LexCMLP


class MotionAlign(LexCMLP):
    name = "align"

    def trainable(self, model) -> set[str]:
        return names_under(model, "motion_encoder.", "motion_decoder.")
