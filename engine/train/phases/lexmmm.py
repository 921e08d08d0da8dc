"""Phase 3, LexMMM (Eq. 7): the motion encoder learns to speak the (frozen) lexical space.

p_m = SPLADE-pool(LM-head(motion tokens)); the motion bottleneck decoder reconstructs the clip's
caption from E_cbow(p_m) with the caption masked 40 -> 100% by curriculum (100% = captioning):
L = l1 MLM(motion decoder) + l2(step) R_FLOPS(p_m).
The lexical space stays frozen: text encoder, MLM head and word embeddings do not move.
Trains: motion encoder, the motion bottleneck decoder.
"""
from __future__ import annotations

from ...models.masking import curriculum_ratio
from ..distributed import gather
from ..losses import lexmmm_loss
from .base import Phase, mask_text, motion_of, names_under, text_of


class LexMMM(Phase):
    name = "lexmmm"
    batch_kind = "pair"

    def trainable(self, model) -> set[str]:
        return names_under(model, "motion_encoder.", "motion_decoder.")

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        ids, mask = text_of(batch)
        p_m, _ = model.motion_lexical(*motion_of(batch))
        ratio = curriculum_ratio(step, total_steps, c.dec_mask_start, c.dec_mask_end)
        dec_in, dec_labels = mask_text(model, ids, mask, ratio)
        dec_logits = model.decode_text(p_m, dec_in, mask, "motion")
        lambdas = (c.w_decoder, self.flops_weight(c.w_flops, step, total_steps))
        loss, terms = lexmmm_loss(dec_logits, dec_labels, gather(p_m), lambdas)
        return loss, {**terms, "dec_mask": ratio}
