"""Captioning = the motion's lexical bottleneck decoder at 100% masking, decoded by mask-predict.

Mask-predict (Ghazvininejad et al. 2019): start from [CLS] [MASK]*L [SEP], predict every position,
then for a few iterations re-mask the least confident positions and predict them again. The length
L is searched: every candidate length is decoded in one batch and the caption with the best mean
log-probability wins, so no separate length predictor has to be trained.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

LENGTHS = tuple(range(4, 15))   # word-piece counts tried; motion captions are mostly 5-15 tokens


@dataclass
class Caption:
    text: str
    log_prob: float   # mean log-probability of the chosen tokens
    length: int


@torch.no_grad()
def mask_predict(model, p: torch.Tensor, lengths=LENGTHS, iterations: int = 4,
                 decoder: str = "motion") -> list[Caption]:
    """Captions for lexical vectors p (B, len(lexicon)), one per row."""
    tok = model.tokenizer
    lexicon_ids = model.lexicon.term_ids
    lengths = [n for n in lengths if n + 2 <= model.cfg.max_text_len] or [model.cfg.max_text_len - 2]
    B, n_len = p.shape[0], len(lengths)
    longest = max(lengths) + 2
    # One row per (motion, candidate length); shorter rows are padded and masked out.
    ids = torch.full((B * n_len, longest), tok.pad_token_id, dtype=torch.long, device=p.device)
    attention = torch.zeros_like(ids, dtype=torch.bool)
    for j, n in enumerate(lengths):
        rows = slice(j, B * n_len, n_len)
        ids[rows, 0], ids[rows, 1:n + 1], ids[rows, n + 1] = tok.cls_token_id, tok.mask_token_id, tok.sep_token_id
        attention[rows, : n + 2] = True
    words = attention.clone()
    words[:, 0] = False
    words &= ids != tok.sep_token_id                     # positions to fill: the masked words only
    p_rows = p.repeat_interleave(n_len, dim=0)
    dec = model.text_decoder if decoder == "text" else model.motion_decoder
    e_cbow = dec.cbow(p_rows, model.word_embeddings(), model.lexicon.head_ids())
    confidence = torch.zeros(ids.shape, device=p.device)
    current = ids.clone()
    for it in range(iterations):
        logits = dec.decode(e_cbow, current, attention, model.word_embeddings(), model.lexicon.head_ids())
        logits[..., _special_positions(model)] = float("-inf")     # never emit [CLS]/[SEP]/[PAD]/[MASK]
        log_probs = logits.log_softmax(-1)
        best, arg = log_probs.max(-1)
        predicted = lexicon_ids[arg]                     # lexicon positions -> vocabulary ids
        fill = words & (current == tok.mask_token_id)
        current = torch.where(fill, predicted, current)
        confidence = torch.where(fill, best, confidence)
        if it == iterations - 1:
            break
        # Re-mask the least confident n * (1 - (it+1)/iterations) words of each row.
        n_words = words.sum(1)
        n_mask = (n_words.float() * (1 - (it + 1) / iterations)).long()
        order = torch.where(words, confidence, torch.full_like(confidence, float("inf"))).argsort(1)
        rank = order.argsort(1)                          # rank of each position by confidence
        remask = words & (rank < n_mask[:, None])
        current = torch.where(remask, torch.full_like(current, tok.mask_token_id), current)
    score = (confidence * words).sum(1) / words.sum(1).clamp_min(1)
    score = score.view(B, n_len)
    best_len = score.argmax(1)
    out = []
    for b in range(B):
        row = b * n_len + int(best_len[b])
        text = tok.decode(_dedupe(current[row][words[row]].tolist()), skip_special_tokens=True)
        out.append(Caption(text=_tidy(text), log_prob=float(score[b, best_len[b]]), length=lengths[int(best_len[b])]))
    return out


def _special_positions(model) -> torch.Tensor:
    """Lexicon positions of the special tokens (computed once per model)."""
    cached = getattr(model, "_caption_special_positions", None)
    if cached is None:
        tok = model.tokenizer
        special = torch.tensor(sorted(set(tok.all_special_ids)), device=model.device)
        cached = model.lexicon.positions_of(special)
        cached = cached[cached >= 0]
        model._caption_special_positions = cached
    return cached


def _dedupe(ids: list[int]) -> list[int]:
    """Drop immediate repeats ("walks walks"), the typical failure of parallel decoding."""
    return [t for i, t in enumerate(ids) if i == 0 or t != ids[i - 1]]


def _tidy(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") or not text else ".")
