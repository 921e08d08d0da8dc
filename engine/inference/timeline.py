"""Word timelines: which words a motion activates when, read from the vectors the model max-pools over.

A motion's lexical vector is a max (Eq. 2): over its encoder windows (engine/models/encode.py: `window_p`
holds each window's vector before that max) and, inside a window, over the time windows x body parts the
LM head reads (`model.lex_pool_windows` of them; 0 = every token). The timeline keeps those vectors apart:

  columns  the pooling windows of every encoder window, each mapped to the frames it covers (a pooling window
           holds an equal share of the window's real time patches, as engine/models/lexical.window_pool cuts
           them), resampled onto the time patches of the whole motion: a patch's value is the max over the
           pooling windows that cover it (encoder windows overlap by half);
  values   log(1 + relu(logit)) of the word, max over body parts: the weight before the max over time, the
           top-k cut and the normalisation of scoring (so it is on the head's own scale, not the served one).
The max over all columns of a word is its weight in `window_p.max(0)`, i.e. the served vector before scoring.
"""
from __future__ import annotations

import numpy as np
import torch

from ..models.encode import pad_batch, windows
from ..models.lexical import window_pool

METHOD = ("each column: the word's weight log(1 + relu(LM-head logit)) in the model's pooling window(s) that "
          "cover that moment, max over body parts, before the max over time that makes the motion's vector")


def _pooling_spans(n_frames: int, patch: int, pool_windows: int) -> list[tuple[int, int]]:
    """Frames [start, end) of each pooling window of one encoder window of n_frames real frames."""
    n_patches = -(-n_frames // patch)
    if pool_windows <= 0:                     # the head reads every token: one column per time patch
        return [(t * patch, min(n_frames, (t + 1) * patch)) for t in range(n_patches)]
    owner = (np.arange(n_patches) * pool_windows) // max(1, n_patches)
    spans = []
    for k in range(pool_windows):
        patches = np.flatnonzero(owner == k)
        if len(patches):
            spans.append((int(patches[0]) * patch, min(n_frames, (int(patches[-1]) + 1) * patch)))
        else:
            spans.append((0, 0))              # empty pooling window (a clip shorter than pool_windows patches)
    return spans


@torch.no_grad()
def pooled_columns(model, joints: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(columns, L) weights per pooling window and word position of the lexicon, and each column's frames."""
    spans = windows(len(joints), model.cfg.max_frames)
    x, mask = pad_batch([joints[a:b] for a, b in spans], model.device)
    mt = model.motion_tokens(x, mask)
    ids = model.lexicon.head_ids()
    pool = model.cfg.lex_pool_windows
    B, Tp, P, _ = mt.tokens.shape
    if pool > 0:
        pooled, filled = window_pool(mt.tokens, mt.token_mask, pool)                  # (B, pool*P, H)
        weights = torch.log1p(torch.relu(model.mlm_head(pooled, ids)))                 # (B, pool*P, L)
        weights = weights * filled[..., None].to(weights.dtype)
        per_column = weights.reshape(B, pool, P, -1).amax(dim=2)                       # (B, pool, L)
    else:
        rows = []
        for b in range(B):
            w = torch.log1p(torch.relu(model.mlm_head(mt.tokens[b].reshape(Tp * P, -1), ids)))
            rows.append(w.reshape(Tp, P, -1).amax(dim=1) * mt.token_mask[b][:, None].to(w.dtype))
        per_column = torch.stack(rows)                                                 # (B, Tp, L)
    per_column = model.lexicon.scored_weights(per_column)
    columns, frames = [], []
    for w, (a, b) in enumerate(spans):
        for k, (s, e) in enumerate(_pooling_spans(b - a, model.cfg.patch_frames, pool)):
            if e > s:
                columns.append(per_column[w, k].float().cpu().numpy())
                frames.append((a + s, a + e))
    return np.stack(columns), frames


def word_timeline(model, vocab, joints: np.ndarray, vector: np.ndarray, words: int = 10,
                  extra_words: list[str] | tuple = ()) -> dict:
    """The motion's `words` heaviest displayable words (of its served `vector`, full vocabulary) plus
    `extra_words`, over time.

    -> {"words": [...], "values": (n_words, n_patches) float32, "seconds": (n_patches,) patch centres,
        "patch_s": seconds per patch, "columns": [(start_s, end_s)], "method": str, "unknown": [...]}"""
    joints = np.asarray(joints, dtype=np.float32)
    fps = 20.0
    chosen = [w for w, _ in vocab.top_terms(vector, words)]
    unknown = []
    for word in extra_words:
        word = str(word).strip().lower()
        if not word or word in chosen:
            continue
        term = vocab.whole_word_id(word)
        if term is None or int(model.lexicon.position[term]) < 0:
            unknown.append(word)
        else:
            chosen.append(word)
    columns, spans = pooled_columns(model, joints)
    patch = model.cfg.patch_frames
    n_patches = -(-len(joints) // patch)
    positions = [int(model.lexicon.position[vocab.id(w)]) for w in chosen]
    values = np.zeros((len(chosen), n_patches), dtype=np.float32)
    for column, (a, b) in zip(columns, spans):
        first, last = a // patch, -(-b // patch)
        values[:, first:last] = np.maximum(values[:, first:last], column[positions][:, None])
    return {"words": chosen, "values": values, "seconds": ((np.arange(n_patches) + 0.5) * patch / fps).round(3),
            "patch_s": patch / fps, "columns": [(round(a / fps, 2), round(b / fps, 2)) for a, b in spans],
            "method": METHOD, "unknown": unknown}
