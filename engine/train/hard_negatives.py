"""Ours: hard negatives in the batch, mined from the model's own vectors (as ANCE does for text retrieval).

A random batch of 32 from the joint library seldom holds a run beside a jog, or a walk beside a walk that turns,
so neither InfoNCE nor the caption-word ranking (losses.caption_word_ranking) is often asked to tell them apart.
At the phase's start every training clip is encoded with the model as it stands (its centre crop), and its
`NEIGHBOURS` nearest clips by the cosine of their lexical vectors are kept; then a share of every batch is drawn
as neighbours of the batch's other clips (`train.<phase>.hard_negatives`). The neighbours are saved in the
phase's folder, so a resumed run draws the batches an uninterrupted one would (engine/train/batching.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_save_npy
from ..models.encode import encode_motions
from .batching import ItemStream

NEIGHBOURS = 8
FILE = "neighbours.npy"


class NeighbourStream:
    """ItemStream's batches with their last `share` replaced by neighbours of the first ones."""

    def __init__(self, base: ItemStream, neighbours: np.ndarray, share: float):
        self.base, self.neighbours = base, neighbours
        self.n_hard = min(base.batch_size - 1, int(round(share * base.batch_size)))

    def batch(self, step: int) -> list[tuple[int, int, float]]:
        items = self.base.batch(step)
        anchors = items[: len(items) - self.n_hard]
        hard = []
        for j in range(self.n_hard):
            item, draw, crop = anchors[j % len(anchors)]
            # the neighbour takes its anchor's draws (caption, mirroring, crop): one more clip, not more randomness
            hard.append((int(self.neighbours[item, draw % self.neighbours.shape[1]]), draw, crop))
        return anchors + hard


@torch.no_grad()
def mine_neighbours(model, batcher, k: int = NEIGHBOURS) -> np.ndarray:
    """(n, k) the indices of each training clip's k nearest other clips by the model's lexical vectors."""
    crops = [batcher.windows.window(i, None) for i in range(len(batcher.clips))]
    vectors = encode_motions(model, crops)                  # L2-normalised (cosine scores)
    scores = (vectors @ vectors.T).toarray()
    np.fill_diagonal(scores, -np.inf)
    k = min(k, len(crops) - 1)
    nearest = np.argpartition(-scores, k, axis=1)[:, :k] if k > 0 else np.zeros((len(crops), 0), dtype=int)
    order = np.take_along_axis(scores, nearest, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(nearest, order, axis=1).astype(np.int64)


def hard_negative_stream(model, batcher, share: float, phase_dir: Path, save: bool = True) -> NeighbourStream:
    """The batcher's stream with hard negatives, the neighbours read from the phase's folder when saved (each DDP
    rank mines the same neighbours from the same weights; the main one saves them)."""
    path = Path(phase_dir) / FILE
    neighbours = np.load(path) if path.is_file() else None
    if neighbours is None or neighbours.shape[0] != batcher.num_items:
        was_training = model.training
        neighbours = mine_neighbours(model.eval(), batcher)
        model.train(was_training)
        if save:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_save_npy(path, neighbours)
    return NeighbourStream(batcher.stream, neighbours, share)
