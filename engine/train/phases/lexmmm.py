"""Phase 3, LexMMM (Eq. 7): the motion encoder learns to speak the (frozen) lexical space.

p_m = SPLADE-pool(LM-head(motion tokens)); the motion bottleneck decoder reconstructs the clip's
caption from E_cbow(p_m) with the caption masked 40 -> 100% by curriculum (100% = captioning):
L = l1 MLM(motion decoder) + l2(step) R_FLOPS(p_m) [+ w_distill (1 - cos(p_m, sg(p_t))), ours: see
config.LexMMMConfig.w_distill and bench/RESULTS.md for why and what it changed].
The lexical space stays frozen: text encoder, MLM head and word embeddings do not move.
Trains: motion encoder, the motion bottleneck decoder.
"""
from __future__ import annotations

from ...models.masking import curriculum_ratio
from ..distributed import gather
import torch

from ..losses import lexical_distillation, lexmmm_loss
from .base import Phase, mask_text, motion_of, names_under, text_of


class LexMMM(Phase):
    name = "lexmmm"
    batch_kind = "pair"

    def trainable(self, model) -> set[str]:
        return names_under(model, "motion_encoder.", "motion_decoder.")

    def begin(self, model) -> None:
        """Start the motion decoder as LexMLM's trained text decoder.

        A fresh decoder can learn to read any private code out of E_cbow, and the motion lexical
        vector then drifts to arbitrary words that merely carry the code. The text decoder
        already reads captions from bags of *caption words*, so starting from it makes the
        cheapest way for p_m to be decoded the caption's own words: the bottleneck anchors the
        motion side in the frozen lexical space, as Eq. 7 intends.
        """
        if self.pcfg.decoder_from_text:
            model.motion_decoder.load_state_dict(model.text_decoder.state_dict())

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        ids, mask = text_of(batch)
        p_m, _ = model.motion_lexical(*motion_of(batch))
        ratio = curriculum_ratio(step, total_steps, c.dec_mask_start, c.dec_mask_end)
        dec_in, dec_labels = mask_text(model, ids, mask, ratio)
        dec_logits = model.decode_text(p_m, dec_in, mask, "motion")
        lambdas = (c.w_decoder, self.flops_weight(c.w_flops, step, total_steps))
        loss, terms = lexmmm_loss(dec_logits, dec_labels, gather(p_m), lambdas)
        if c.w_distill > 0:   # the frozen text side's vector of the same caption is the target
            with torch.no_grad():
                p_t, _ = model.text_lexical(ids, mask)
            distill = lexical_distillation(p_m, p_t)
            loss, terms = loss + c.w_distill * distill, {**terms, "distill": distill.detach()}
        return loss, {**terms, "dec_mask": ratio}
