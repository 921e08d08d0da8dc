"""The CLIP-style dense baseline: the same encoders, mean-pooled dense vectors, InfoNCE.

No lexical head, no decoders: it is what the lexical model is measured against. The options
(CCCL, triplets, 1/LER) apply here too, so each one can be measured on both kinds of vectors.
Trains: text encoder, motion encoder, the two dense projection heads.
"""
from __future__ import annotations

from ..distributed import gather
from ..losses import info_nce
from .base import Phase, motion_of, names_under, text_of
from .options import alignment_options, inverse_ler_term


class Dense(Phase):
    name = "dense"
    batch_kind = "pair"

    def trainable(self, model) -> set[str]:
        return names_under(model, "text_backbone.", "motion_encoder.", "text_dense_head.", "motion_dense_head.")

    def loss(self, model, batch, step, total_steps):
        e_t = gather(model.text_dense(*text_of(batch)))
        tokens = model.motion_tokens(*motion_of(batch))
        e_m = gather(model.motion_dense_from_tokens(tokens))
        nce = info_nce(e_m, e_t, self.cfg.temperature)
        extra, more = alignment_options(self.cfg, e_t, e_m, step, total_steps)
        ler, ler_terms = inverse_ler_term(self.cfg, tokens)
        return self.pcfg.w_info * nce + extra + ler, {"info_nce": nce.detach(), **more, **ler_terms}
