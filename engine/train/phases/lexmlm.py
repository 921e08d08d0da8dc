"""Phase 1, LexMLM (Eq. 5): the text encoder learns the lexical space.

L = l1 MLM(encoder | x masked 30%, BERT 80/10/10) + l2 MLM(bottleneck decoder | E_cbow(p), x masked
50 -> 100% by curriculum) + l3(step) R_FLOPS(p), with p from the encoder's masked pass.
Trains: text encoder (above the base-frozen layers), MLM head, the text bottleneck decoder.
"""
from __future__ import annotations

from ...models.masking import curriculum_ratio
from ..distributed import gather
from ..losses import lexmlm_loss
from .base import Phase, mask_text, names_under, text_of


class LexMLM(Phase):
    name = "lexmlm"
    batch_kind = "text"

    def trainable(self, model) -> set[str]:
        return names_under(model, "text_backbone.", "mlm_head.", "text_decoder.")

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        ids, mask = text_of(batch)
        enc_in, enc_labels = mask_text(model, ids, mask, c.enc_mask, bert=True)
        p, _, enc_logits = model.text_lexical(enc_in, mask, return_logits=True)
        ratio = curriculum_ratio(step, total_steps, c.dec_mask_start, c.dec_mask_end)
        dec_in, dec_labels = mask_text(model, ids, mask, ratio)
        dec_logits = model.decode_text(p, dec_in, mask, "text")
        lambdas = (c.w_mlm, c.w_decoder, self.flops_weight(c.w_flops, step, total_steps))
        loss, terms = lexmlm_loss(enc_logits, enc_labels, dec_logits, dec_labels, gather(p), lambdas)
        return loss, {**terms, "dec_mask": ratio}
