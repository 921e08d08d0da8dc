"""Encode motions and captions of any length into full-vocabulary lexical vectors (and dense ones).

A motion longer than the model's window is cut into overlapping windows; its lexical vector is the
element-wise max over windows, which is what Eq. 2's max-pool over all its tokens gives, and its
dense vector the re-normalised mean. Lexical vectors leave the model as scipy CSR in full BERT ids.
`encode_motion` is the one-motion path of a served request: one batched encoder pass that keeps
everything later analyses read (the lexical vector, the per-window vectors, the per-joint features).
Shared by serving, evaluation and training (caption tuning), so it lives with the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from .lexical import keep_top_k

Progress = Callable[[int, int], None] | None


def windows(frames: int, size: int) -> list[tuple[int, int]]:
    """[start, end) windows of `size` frames with 50% overlap, the last one flush with the end."""
    if frames <= size:
        return [(0, frames)]
    stride = max(1, size // 2)
    starts = list(range(0, frames - size + 1, stride))
    if starts[-1] != frames - size:
        starts.append(frames - size)
    return [(s, s + size) for s in starts]


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield start, min(n, start + size)


def pad_batch(clips: Sequence[np.ndarray], device) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint arrays of different lengths -> (B, T, 22, 3) float tensor and (B, T) frame mask."""
    longest = max(len(c) for c in clips)
    joints = np.zeros((len(clips), longest, 22, 3), dtype=np.float32)
    mask = np.zeros((len(clips), longest), dtype=bool)
    for i, clip in enumerate(clips):
        joints[i, : len(clip)] = clip
        mask[i, : len(clip)] = True
    return torch.from_numpy(joints).to(device), torch.from_numpy(mask).to(device)


def _to_csr(p_full: torch.Tensor) -> sp.csr_matrix:
    return sp.csr_matrix(p_full.float().cpu().numpy())


@torch.no_grad()
def encode_motions(model, motions: Sequence[np.ndarray], kind: str = "lexical", batch_size: int = 64,
                   progress: Progress = None, scored: bool = True):
    """Canonical (T, 22, 3) joint arrays -> (N, 30522) CSR lexical vectors, or (N, D) dense ones.
    scored=False leaves lexical vectors as the head pools them (no normalisation, see `as_scored`)."""
    size = model.cfg.max_frames
    pieces, owner = [], []
    for i, joints in enumerate(motions):
        for a, b in windows(len(joints), size):
            pieces.append(joints[a:b])
            owner.append(i)
    rows = []
    for a, b in _batches(len(pieces), batch_size):
        joints, mask = pad_batch(pieces[a:b], model.device)
        mt = model.motion_tokens(joints, mask)
        if kind == "lexical":
            rows.append(_to_csr(model.lexicon.to_full(model.motion_lexical_from_tokens(mt))))
        else:
            rows.append(model.motion_dense_from_tokens(mt).float().cpu().numpy())
        if progress:
            progress(b, len(pieces))
    reduced = _reduce_windows(rows, np.asarray(owner), len(motions), kind)
    return as_scored(model, reduced) if kind == "lexical" and scored else reduced


def _reduce_windows(rows: list, owner: np.ndarray, n: int, kind: str):
    if kind == "lexical":
        stacked = sp.vstack(rows).tocsr()
        if len(owner) == n:  # one window each: nothing to reduce
            return stacked
        return sp.vstack([stacked[owner == i].max(axis=0) for i in range(n)]).tocsr()
    stacked = np.concatenate(rows)
    if len(owner) == n:
        return stacked
    means = np.stack([stacked[owner == i].mean(axis=0) for i in range(n)])
    return means / np.linalg.norm(means, axis=1, keepdims=True).clip(1e-12)


@torch.no_grad()
def encode_texts(model, texts: Sequence[str], kind: str = "lexical", batch_size: int = 128,
                 progress: Progress = None):
    """Captions or free-text queries -> (N, 30522) CSR lexical vectors, or (N, D) dense ones."""
    rows = []
    texts = list(texts)
    for a, b in _batches(len(texts), batch_size):
        ids, mask = model.tokenize(texts[a:b])
        if kind == "lexical":
            rows.append(_to_csr(model.lexicon.to_full(model.text_lexical(ids, mask)[0])))
        else:
            rows.append(model.text_dense(ids, mask).float().cpu().numpy())
        if progress:
            progress(b, len(texts))
    return as_scored(model, sp.vstack(rows).tocsr()) if kind == "lexical" else np.concatenate(rows)


def as_scored(model, vectors: sp.csr_matrix) -> sp.csr_matrix:
    """Lexical vectors as the model scores them: each row's model.lex_top_k heaviest terms (when set), then
    L2-normalised when model.lex_score is "cosine" (after the max over windows, as training saw a clip)."""
    if model.cfg.lex_top_k > 0:
        from ..index import top_k_sparsify
        vectors = top_k_sparsify(vectors, model.cfg.lex_top_k)
    if model.cfg.lex_score != "cosine":
        return vectors
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1))).ravel().clip(1e-12)
    return sp.csr_matrix(sp.diags(1.0 / norms) @ vectors, dtype=np.float32)


@dataclass
class MotionEncoding:
    """One encoder pass over one motion: what captioning, explanations and comparisons read.

    p:            (len(lexicon),) the lexical vector as the model scores it (see `as_scored`)
    vector:       (vocabulary,) the same in full BERT ids, float32
    windows:      [start, end) frames of each encoder window
    window_p:     (n_windows, len(lexicon)) each window's vector before the max (a word timeline)
    features:     (Tp, 22, C) per-joint encoder features per time patch of the whole motion
    """
    p: torch.Tensor
    vector: np.ndarray
    windows: list[tuple[int, int]]
    window_p: torch.Tensor
    features: np.ndarray


@torch.no_grad()
def encode_motion(model, joints: np.ndarray) -> MotionEncoding:
    """Every window of one motion through the motion encoder in one batch (one forward pass).

    The lexical vector is the max over windows (Eq. 2's max-pool over all tokens). Windows overlap by
    half, so each time patch of the features is read from the first window that covers it."""
    spans = windows(len(joints), model.cfg.max_frames)
    x, mask = pad_batch([joints[a:b] for a, b in spans], model.device)
    mt = model.motion_tokens(x, mask)
    window_p = model.motion_lexical_from_tokens(mt)
    p = scored_lexical(model, window_p.max(dim=0).values[None])[0]
    vector = model.lexicon.to_full(p[None])[0].float().cpu().numpy()
    return MotionEncoding(p, vector, spans, window_p, _features_over_windows(mt, spans, model.cfg.patch_frames,
                                                                             len(joints)))


def scored_lexical(model, p: torch.Tensor) -> torch.Tensor:
    """(B, len(lexicon)) pooled vectors as the model scores them: the lex_top_k heaviest terms, then
    L2-normalised for cosine scores (what `as_scored` does to CSR rows)."""
    if model.cfg.lex_top_k > 0:
        p = keep_top_k(p, model.cfg.lex_top_k)
    return F.normalize(p, dim=-1) if model.cfg.lex_score == "cosine" else p


def _features_over_windows(mt, spans, patch: int, frames: int) -> np.ndarray:
    per_joint = mt.per_joint_features()                     # (W, Tp_w, 22, C)
    patches = -(-frames // patch)
    out = torch.empty(patches, *per_joint.shape[2:], dtype=per_joint.dtype)
    for i in range(patches):
        frame = i * patch
        w = next(k for k, (a, b) in enumerate(spans) if a <= frame < b)
        out[i] = per_joint[w, (frame - spans[w][0]) // patch]
    return out.float().cpu().numpy()
