"""Caption tuning (ours, after LexCMLP): the motion bottleneck decoder learns to read the final p_m.

Captioning is the motion decoder at 100% masking (Eq. 4, mask-predict in engine/inference/captioner.py).
The decoder last trained at captioning's masks at the end of LexMMM; LexCMLP then moves p_m a long way
while the decoder only follows through a light auxiliary loss at 70% masking, so it reads the final
vectors poorly (on Bandai, CIDEr peaked after 500 LexCMLP steps and fell after). This phase trains the
decoder alone, everything else frozen, so retrieval and the lexical vectors stay exactly as LexCMLP left
them: L = MLM(motion decoder on p_m), with the caption masked 100% in `full_mask` of the steps (the first
mask-predict pass) and a ratio drawn from [dec_mask_min, 1] otherwise (the re-masking passes).

Option `w_cider` adds self-critical sequence training (Rennie et al. 2017) of the first pass, the one that
sees the caption 100% masked: `cider_samples` captions per motion are drawn from its per-position
distributions (at the length of the batch's caption), each is rewarded by its CIDEr-D against all the
clip's captions (document frequencies of the training captions), against the mean reward of the motion's
other samples (Luo 2020; losses.self_critical_loss). Rennie's baseline, the greedy caption's reward, is
logged only: sampled captions score far below it, so every advantage was negative and CIDEr fell. MLM
alone teaches every plausible phrasing; the reward teaches the one the references agree on, and punishes
the incoherent mixes parallel decoding produces. Measured on Bandai (bench/RESULTS.md): not adopted.
After the last step the phase fits the caption head in closed form (models/caption_head.py): a rank
`head_rank` ridge map from each training clip's motion vector to the mean vector of its captions, which
captioning decodes from.
Trains: the motion bottleneck decoder. Fits: the caption head.
"""
from __future__ import annotations

import sys

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from ...models.caption_text import caption_text, special_positions
from ...models.encode import encode_motions, encode_texts
from ...metrics.captioning import CiderD, tokenize_caption
from ...models.caption_head import evenly_spaced, fit_low_rank_ridge
from ...models.lexical import keep_top_k
from ..losses import mlm_loss, self_critical_loss
from .base import Phase, mask_text, motion_of, names_under, text_of


class CaptionTuning(Phase):
    name = "caption"
    batch_kind = "pair"

    cider: CiderD | None = None

    def trainable(self, model) -> set[str]:
        return names_under(model, "motion_decoder.")

    def training_clips(self, clips) -> None:
        if self.pcfg.w_cider > 0:
            if self.pcfg.cider_samples < 2:
                raise ValueError("train.caption.cider_samples must be at least 2 (each sample's baseline is the others')")
            self.cider = CiderD([[tokenize_caption(t) for t in c.captions] for c in clips])

    def loss(self, model, batch, step, total_steps):
        c = self.pcfg
        ids, mask = text_of(batch)
        p_m = _inference_vectors(model, batch)
        draw = torch.rand(2).tolist()   # global generator: seeded, and restored on resume
        ratio = 1.0 if draw[0] < c.full_mask else c.dec_mask_min + (1.0 - c.dec_mask_min) * draw[1]
        dec_in, dec_labels = mask_text(model, ids, mask, ratio)
        loss = mlm_loss(model.decode_text(p_m, dec_in, mask, "motion"), dec_labels)
        terms = {"mlm_dec": loss.detach(), "dec_mask": ratio}
        if c.w_cider > 0:
            scst, reward, greedy = self._self_critical(model, p_m, ids, mask, batch["references"])
            loss = loss + c.w_cider * scst
            terms.update(scst=scst.detach(), cider_sampled=reward, cider_greedy=greedy)
        return loss, terms

    def finish(self, model, batcher) -> None:
        """Fit the caption head (models/caption_head.py) in closed form over the training clips."""
        if self.pcfg.head_rank <= 0:
            return
        x, t = _head_data(model, batcher)
        down, up = fit_low_rank_ridge(x, t, self.pcfg.head_rank, self.pcfg.head_ridge)
        model.caption_head.set_map(down.to(model.device), up.to(model.device))

    def _self_critical(self, model, p_m, ids, mask, references):
        """(loss, mean sampled reward, mean greedy reward) of the first pass at the caption's length."""
        if self.cider is None:
            raise RuntimeError("the caption phase's CIDEr reward needs training_clips() first")
        tok = model.tokenizer
        full, _ = mask_text(model, ids, mask, 1.0)
        words = full == tok.mask_token_id
        logits = model.decode_text(p_m, full, mask, "motion").float()
        logits[..., special_positions(model)] = float("-inf")     # as captioning: never emit [SEP] etc.
        log_probs = logits.log_softmax(-1)
        greedy = log_probs.argmax(-1)
        samples = torch.distributions.Categorical(logits=log_probs.detach()).sample((self.pcfg.cider_samples,))
        refs = [[tokenize_caption(r) for r in rs] for rs in references]

        def rewards(choice):   # (B, T) lexicon positions -> (B,) CIDEr-D of the captions they spell
            texts = [caption_text(tok, model.lexicon.term_ids[choice[b][words[b]]].tolist()) for b in range(len(refs))]
            return torch.tensor(self.cider.scores([tokenize_caption(t) for t in texts], refs), dtype=torch.float32)

        greedy_reward = rewards(greedy)
        sampled = torch.stack([rewards(s) for s in samples]).to(p_m.device)
        k = len(samples)
        # each sample's baseline: the mean reward of the motion's other samples (Luo 2020)
        baseline = (sampled.sum(0, keepdim=True) - sampled) / (k - 1)
        chosen = log_probs.expand(k, *log_probs.shape).gather(-1, samples.unsqueeze(-1)).squeeze(-1)
        per_caption = (chosen * words).sum(-1) / words.sum(-1).clamp_min(1)         # mean log-prob per word
        loss = self_critical_loss(per_caption, sampled, baseline)
        return loss, float(sampled.mean()), float(greedy_reward.mean())


@torch.no_grad()
def _head_data(model, batcher, chunk: int = 256) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(motion vectors, mean vectors of their captions), one row per training clip the fit uses (all, or
    MAX_CLIPS evenly spaced), in lexicon space: the whole motions as captioning encodes them, and their
    captions as retrieval scores them."""
    clips, terms = batcher.clips, model.lexicon.term_ids.cpu().numpy()
    used = evenly_spaced(len(clips))          # the clips the fit will use: encode no others
    motions, captions = [], []
    show = batcher.dist.is_main and sys.stderr.isatty()
    for a in tqdm(range(0, len(used), chunk), desc="caption head", disable=not show, dynamic_ncols=True):
        part = used[a:a + chunk]
        motions.append(encode_motions(model, [batcher.windows.joints(i) for i in part])[:, terms])
        texts = [text for i in part for text in clips[i].captions]
        owner = np.repeat(np.arange(len(part)), [len(clips[i].captions) for i in part])
        mean = sp.csr_matrix((1.0 / np.bincount(owner)[owner], (owner, np.arange(len(texts)))))
        captions.append(mean @ encode_texts(model, texts)[:, terms])
    return sp.vstack(motions).tocsr(), sp.vstack(captions).tocsr()


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
