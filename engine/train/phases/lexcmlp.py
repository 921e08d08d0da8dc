"""Phase 4, LexCMLP (Eq. 8): align motion and text lexical vectors.

L = l1 InfoNCE(p_m, p_t) (dot-product scores over the global batch) + l2(step) R_FLOPS(p_m, p_t)
  + l3 L_aux^1 (text bottleneck decoder on p_t) + l4 L_aux^2 (motion bottleneck decoder on p_m),
table 9: (1, 1e-4, 1e-2, 1e-2), every learning rate 1e-5.
On top, each a switch that is off in the `paper` preset: the options of the other seeds (CCCL, triplets,
1/LER: phases/options.py) and ours (cosine scores over each vector's top-k terms, model.lex_score and
model.lex_top_k; the pull toward the caption's vector, the mirror term and the text anchor:
phases/lexcmlp_ours.py).
Trains: everything but the base-frozen text weights.
"""
from __future__ import annotations

from ...models.lexical import keep_top_k
from ..distributed import gather
from ..losses import lexcmlp_loss
from .base import Phase, mask_text, motion_of, names_under, text_of
from .lexcmlp_ours import caption_idf, our_terms
from .options import alignment_options, inverse_ler_term
from .text_anchor import TextAnchor


class LexCMLP(Phase):
    name = "lexcmlp"
    batch_kind = "pair"
    anchor: TextAnchor | None = None
    captions: list | None = None
    _idf = None

    def trainable(self, model) -> set[str]:
        names = {n for n, _ in model.named_parameters()}
        if self.pcfg.freeze_head:   # keep the shared LM head (the lexical space) as LexMLM left it
            names -= names_under(model, "mlm_head.")
        return names

    def training_clips(self, clips) -> None:
        self.captions = [list(c.captions) for c in clips] if self.pcfg.words_idf else None
        self._idf = None

    def word_idf(self, model):
        """The caption-word IDF of the training clips over the lexicon (lexcmlp_ours.caption_idf), computed once."""
        if self._idf is None:
            self._idf = caption_idf(model, self.captions or [])
        return self._idf.to(next(model.parameters()).device)

    def starting_weights(self, model) -> None:
        self.anchor = TextAnchor(model) if self.pcfg.w_text_anchor > 0 else None

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        ids, mask = text_of(batch)
        p_t, _ = model.text_lexical(ids, mask)
        p_m, tokens = model.motion_lexical(*motion_of(batch))
        text_in, text_labels = mask_text(model, ids, mask, c.dec_mask)
        motion_in, motion_labels = mask_text(model, ids, mask, c.dec_mask)
        # the text decoder's term weighs 0 where the text side is frozen (align): no forward for it then
        text_logits = model.decode_text(p_t, text_in, mask, "text") if c.w_aux_text > 0 else None
        motion_logits = model.decode_text(p_m, motion_in, mask, "motion")
        k = model.cfg.lex_top_k   # InfoNCE and FLOPs see the vectors as the index will store them (0 = all)
        all_m, all_t = gather(keep_top_k(p_m, k)), gather(keep_top_k(p_t, k))
        lambdas = (c.w_info, self.flops_weight(c.w_flops, step, total_steps), c.w_aux_text, c.w_aux_motion)
        loss, terms = lexcmlp_loss(all_m, all_t, text_logits, text_labels, motion_logits, motion_labels,
                                   self.cfg.lex_temperature, lambdas, cosine=model.cfg.lex_score == "cosine")
        ours, our_parts = our_terms(self, model, batch, ids, mask, p_m, p_t, step)
        extra, more = alignment_options(self.cfg, all_t, all_m, step, total_steps)
        ler, ler_terms = inverse_ler_term(self.cfg, tokens)
        return loss + ours + extra + ler, {**terms, **our_parts, **more, **ler_terms}
