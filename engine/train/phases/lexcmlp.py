"""Phase 4, LexCMLP (Eq. 8): align motion and text lexical vectors.

L = l1 InfoNCE(p_m, p_t) (dot-product scores over the global batch) + l2(step) R_FLOPS(p_m, p_t)
  + l3 L_aux^1 (text bottleneck decoder on p_t) + l4 L_aux^2 (motion bottleneck decoder on p_m),
table 9: (1, 1e-4, 1e-2, 1e-2), every learning rate 1e-5; plus the options (CCCL, triplets, 1/LER) and
ours: cosine scores over each vector's top-k terms (model.lex_score, model.lex_top_k), the pull toward the
caption's vector (w_distill), the mirror term (w_mirror) and the text anchor (w_text_anchor).
Trains: everything but the base-frozen text weights.
"""
from __future__ import annotations

import torch

from ...models.lexical import keep_top_k
from ...skeleton import mirror_joints
from ..distributed import gather
from ..losses import lexcmlp_loss, lexical_distillation, literal_mix, mirror_consistency
from .base import Phase, mask_text, motion_of, names_under, text_of
from .options import alignment_options, inverse_ler_term
from .text_anchor import TextAnchor


class LexCMLP(Phase):
    name = "lexcmlp"
    batch_kind = "pair"
    anchor: TextAnchor | None = None

    def trainable(self, model) -> set[str]:
        names = {n for n, _ in model.named_parameters()}
        if self.pcfg.freeze_head:   # keep the shared LM head (the lexical space) as LexMLM left it
            names -= names_under(model, "mlm_head.")
        return names

    def starting_weights(self, model) -> None:
        self.anchor = TextAnchor(model) if self.pcfg.w_text_anchor > 0 else None

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        ids, mask = text_of(batch)
        p_t, _ = model.text_lexical(ids, mask)
        p_m, tokens = model.motion_lexical(*motion_of(batch))
        text_in, text_labels = mask_text(model, ids, mask, c.dec_mask)
        motion_in, motion_labels = mask_text(model, ids, mask, c.dec_mask)
        text_logits = model.decode_text(p_t, text_in, mask, "text")
        motion_logits = model.decode_text(p_m, motion_in, mask, "motion")
        k = model.cfg.lex_top_k   # InfoNCE and FLOPs see the vectors as the index will store them
        all_m, all_t = gather(keep_top_k(p_m, k)), gather(keep_top_k(p_t, k))
        lambdas = (c.w_info, self.flops_weight(c.w_flops, step, total_steps), c.w_aux_text, c.w_aux_motion)
        loss, terms = lexcmlp_loss(all_m, all_t, text_logits, text_labels, motion_logits, motion_labels,
                                   self.cfg.lex_temperature, lambdas, cosine=model.cfg.lex_score == "cosine")
        if c.w_distill > 0:   # ours: keep p_m on its caption's words while InfoNCE aligns (see LexMMM)
            distill = lexical_distillation(p_m, fewer_expansions(model, p_t, ids, mask, c.distill_literal))
            loss, terms = loss + c.w_distill * distill, {**terms, "distill": distill.detach()}
        if c.w_mirror > 0:   # ours: a mirrored motion weighs left- and right-words the other way round
            joints, frame_mask = motion_of(batch)
            p_mirrored, _ = model.motion_lexical(mirror_joints(joints), frame_mask)
            mirror = mirror_consistency(p_m, p_mirrored, side_pairs(model))
            loss, terms = loss + c.w_mirror * mirror, {**terms, "mirror": mirror.detach()}
        if c.w_text_anchor > 0:   # ours: the caption keeps the words it had when the phase began
            if self.anchor is None:
                if step > 0:
                    raise RuntimeError("LexCMLP's text anchor needs starting_weights() before a resumed step")
                self.starting_weights(model)
            start = fewer_expansions(model, self.anchor(ids, mask), ids, mask, c.anchor_literal)
            anchor = lexical_distillation(p_t, start)   # the copy lives where the model does
            loss, terms = loss + c.w_text_anchor * anchor, {**terms, "text_anchor": anchor.detach()}
        extra, more = alignment_options(self.cfg, all_t, all_m, step, total_steps)
        ler, ler_terms = inverse_ler_term(self.cfg, tokens)
        return loss + extra + ler, {**terms, **more, **ler_terms}


# Words that name a side; a mirrored motion should weigh each pair the other way round.
SIDE_WORD_PAIRS = (("left", "right"), ("leftward", "rightward"), ("leftwards", "rightwards"),
                   ("clockwise", "counterclockwise"))


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
