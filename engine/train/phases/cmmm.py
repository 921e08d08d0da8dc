"""Phase 2, CMMM (Eq. 6): the motion encoder learns motion, from a full and a masked view.

Both views go through the same encoder; each is decoded back to the (featurised) joint positions:
L = l1 reconstruction + l2 velocity (averaged over the two views) + l3 InfoNCE(e_full, e_masked)
on the L2-normalised pooled embeddings. Table 7: 50% of the motion tokens masked, (1, 1, 0.1).
Trains: motion encoder, reconstruction head, the motion pooling head.
"""
from __future__ import annotations

from ...models.masking import mask_motion_tokens
from ..distributed import gather
from ..losses import cmmm_loss
from .base import Phase, motion_of, names_under
from .options import inverse_ler_term


class CMMM(Phase):
    name = "cmmm"
    batch_kind = "motion"

    def trainable(self, model) -> set[str]:
        return names_under(model, "motion_encoder.", "motion_recon_head.", "motion_dense_head.")

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        joints, frame_mask = motion_of(batch)
        full = model.motion_tokens(joints, frame_mask)
        hidden = mask_motion_tokens(full.token_mask, model.motion_encoder.num_tokens, c.motion_mask)
        masked = model.motion_tokens(joints, frame_mask, hidden)
        x_hats = [model.reconstruct(full.tokens), model.reconstruct(masked.tokens)]
        e_full = gather(model.motion_dense_from_tokens(full))
        e_masked = gather(model.motion_dense_from_tokens(masked))
        loss, terms = cmmm_loss(x_hats, full.features.positions, full.features.frame_mask, e_full, e_masked,
                                self.cfg.temperature, (c.w_recon, c.w_velocity, c.w_info))
        extra, more = inverse_ler_term(self.cfg, full)
        return loss + extra, {**terms, **more}
