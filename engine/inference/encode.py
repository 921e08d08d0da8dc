"""Encode motions and captions of any length into full-vocabulary lexical vectors (and dense ones).

A motion longer than the model's window is cut into overlapping windows; its lexical vector is the
element-wise max over windows, which is what Eq. 2's max-pool over all its tokens gives, and its
dense vector the re-normalised mean. Lexical vectors leave the model as scipy CSR in full BERT ids.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch

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


@torch.no_grad()
def motion_features(model, joints: np.ndarray) -> np.ndarray:
    """Per-joint, per-time-patch encoder features (Tp, 22, C) of a whole motion, window after window."""
    size = model.cfg.max_frames
    parts = []
    for a in range(0, len(joints), size):
        x, mask = pad_batch([joints[a:a + size]], model.device)
        mt = model.motion_tokens(x, mask)
        feats = mt.per_joint_features()[0][mt.token_mask[0]]
        parts.append(feats.float().cpu().numpy())
    return np.concatenate(parts)
