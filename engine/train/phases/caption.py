"""Caption tuning (ours, after LexCMLP): the motion bottleneck decoder learns to read the final p_m.

Captioning is the motion decoder at 100% masking (Eq. 4, mask-predict in engine/inference/captioner.py).
The decoder last trained at captioning's masks at the end of LexMMM; LexCMLP then moves p_m a long way
while the decoder only follows through a light auxiliary loss at 70% masking, so it reads the final
vectors poorly (on Bandai, CIDEr peaked after 500 LexCMLP steps and fell after). This phase trains the
decoder alone, everything else frozen, so retrieval and the lexical vectors stay exactly as LexCMLP left
them: L = MLM(motion decoder on p_m), with the caption masked 100% in `full_mask` of the steps (the first
mask-predict pass) and a ratio drawn from [dec_mask_min, 1] otherwise (the re-masking passes).
Trains: the motion bottleneck decoder.
"""
from __future__ import annotations

import torch

from ...models.lexical import keep_top_k
from ..losses import mlm_loss
from .base import Phase, mask_text, motion_of, names_under, text_of


class CaptionTuning(Phase):
    name = "caption"
    batch_kind = "pair"

    def trainable(self, model) -> set[str]:
        return names_under(model, "motion_decoder.")

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        ids, mask = text_of(batch)
        p_m = _inference_vectors(model, batch)
        draw = torch.rand(2).tolist()   # global generator: seeded, and restored on resume
        ratio = 1.0 if draw[0] < c.full_mask else c.dec_mask_min + (1.0 - c.dec_mask_min) * draw[1]
        dec_in, dec_labels = mask_text(model, ids, mask, ratio)
        loss = mlm_loss(model.decode_text(p_m, dec_in, mask, "motion"), dec_labels)
        return loss, {"mlm_dec": loss.detach(), "dec_mask": ratio}


@torch.no_grad()
def _inference_vectors(model, batch) -> torch.Tensor:
    """p_m as captioning sees it: frozen encoder, no dropout, no graph, the lex_top_k terms the index stores
    (captions are decoded from the scored vector; the decoder divides by its mass, so scale is moot)."""
    encoder = model.motion_encoder
    training = encoder.training
    encoder.eval()
    try:
        return keep_top_k(model.motion_lexical(*motion_of(batch))[0], model.cfg.lex_top_k)
    finally:
        encoder.train(training)
