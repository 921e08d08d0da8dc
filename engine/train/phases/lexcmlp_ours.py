"""Our additions to LexCMLP (not in the paper; each 0 = off, all off in the `paper` preset).

- w_distill: 1 - cos(p_m, sg(p_t)), as in LexMMM: keeps p_m on its caption's words while InfoNCE aligns;
  `distill_literal` keeps that share of the target only on the caption's own words.
- w_mirror: a mirrored motion weighs left- and right-words the other way round (mirror_consistency).
- w_text_anchor: 1 - cos(p_t, sg(p_t^0)) against a frozen copy of the text side as the phase began
  (phases/text_anchor.py), so captions keep the words LexMLM gave them; `anchor_literal` as above.
bench/RESULTS.md measures each.
"""
from __future__ import annotations

import torch

from ...skeleton import mirror_joints
from ..losses import lexical_distillation, literal_mix, mirror_consistency
from .base import motion_of

# Words that name a side; a mirrored motion should weigh each pair the other way round.
SIDE_WORD_PAIRS = (("left", "right"), ("leftward", "rightward"), ("leftwards", "rightwards"),
                   ("clockwise", "counterclockwise"))


def our_terms(phase, model, batch, ids, mask, p_m, p_t, step):
    """(weighted sum, logged parts) of the switched-on additions for one LexCMLP batch."""
    c = phase.pcfg
    loss, terms = 0.0, {}
    if c.w_distill > 0:
        distill = lexical_distillation(p_m, fewer_expansions(model, p_t, ids, mask, c.distill_literal))
        loss, terms["distill"] = loss + c.w_distill * distill, distill.detach()
    if c.w_mirror > 0:
        joints, frame_mask = motion_of(batch)
        p_mirrored, _ = model.motion_lexical(mirror_joints(joints), frame_mask)
        mirror = mirror_consistency(p_m, p_mirrored, side_pairs(model))
        loss, terms["mirror"] = loss + c.w_mirror * mirror, mirror.detach()
    if c.w_text_anchor > 0:
        if phase.anchor is None:
            if step > 0:
                raise RuntimeError("LexCMLP's text anchor needs starting_weights() before a resumed step")
            phase.starting_weights(model)
        start = fewer_expansions(model, phase.anchor(ids, mask), ids, mask, c.anchor_literal)
        anchor = lexical_distillation(p_t, start)   # the copy lives where the model does
        loss, terms["text_anchor"] = loss + c.w_text_anchor * anchor, anchor.detach()
    return loss, terms


def fewer_expansions(model, p, ids, mask, share: float):
    return literal_mix(p, ids, word_tokens(model, ids, mask), model.lexicon.positions_of, share)


def word_tokens(model, ids, mask):
    """True at the caption's word tokens: attended and not special ([CLS], [SEP], ...)."""
    special = torch.tensor(model.tokenizer.all_special_ids, device=ids.device)
    return mask & ~torch.isin(ids, special)


def side_pairs(model):
    """(n, 2) lexicon positions of the side-word pairs (computed once per model)."""
    cached = getattr(model, "_side_pairs", None)
    if cached is None:
        vocab = model.tokenizer.get_vocab()
        pairs = [(vocab[a], vocab[b]) for a, b in SIDE_WORD_PAIRS if a in vocab and b in vocab]
        cached = model._side_pairs = model.lexicon.position_pairs(pairs)
    return cached
