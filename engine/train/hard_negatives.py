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
import scipy.sparse as sp
import torch

from ..atomic import atomic_save_npy
from ..models.encode import encode_motions

NEIGHBOURS = 8
FILE = "neighbours.npy"


class NeighbourStream:
    """Batches of the base stream's order (batching.ItemStream or dataset_shares.SharedStream) with `share` of
    each batch drawn as neighbours of the others, each right after its anchor (a DDP rank's contiguous shard keeps
    the pairs together). The order advances by the anchors only, so every clip is still drawn once an epoch; a
    neighbour already in the batch gives way to the next one."""

    def __init__(self, base, neighbours: np.ndarray, share: float):
        self.neighbours, self.batch_size = neighbours, base.batch_size
        self.n_hard = min(base.batch_size // 2, int(round(share * base.batch_size)))
        self.anchors = base.resized(base.batch_size - self.n_hard)

    def batch(self, step: int) -> list[tuple[int, int, float]]:
        anchors = self.anchors.batch(step)
        taken = {item for item, _, _ in anchors}
        out = []
        for j, (item, draw, crop) in enumerate(anchors):
            out.append((item, draw, crop))
            if j < self.n_hard:
                # the neighbour takes its anchor's draws (caption, mirroring, crop): one more clip, not more chance
                row = self.neighbours[item]
                first = draw % len(row)
                free = [int(row[(first + i) % len(row)]) for i in range(len(row))
                        if int(row[(first + i) % len(row)]) not in taken]
                if free:
                    taken.add(free[0])
                    out.append((free[0], draw, crop))
        return out


@torch.no_grad()
def mine_neighbours(model, batcher, k: int = NEIGHBOURS) -> np.ndarray:
    """(n, k) the indices of each training clip's k nearest other clips by the model's lexical vectors."""
    crops = [batcher.windows.window(i, None) for i in range(len(batcher.clips))]
    vectors = encode_motions(model, crops, scored=False)
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel()).clip(1e-12)
    vectors = sp.diags(1.0 / norms) @ vectors               # cosine, whatever the model scores by
    scores = (vectors @ vectors.T).toarray()                # n x n: fine for the thousands of clips we train on
    np.fill_diagonal(scores, -np.inf)
    k = min(k, len(crops) - 1)
    nearest = np.argpartition(-scores, k, axis=1)[:, :k] if k > 0 else np.zeros((len(crops), 0), dtype=int)
    order = np.take_along_axis(scores, nearest, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(nearest, order, axis=1).astype(np.int64)


def hard_negative_stream(model, batcher, share: float, phase_dir: Path, resumed: bool,
                         save: bool = True) -> NeighbourStream:
    """The batcher's stream with hard negatives. A resumed phase reads the neighbours its start saved; a new one
    mines them (each DDP rank the same, from the same weights; the main one saves them)."""
    path = Path(phase_dir) / FILE
    neighbours = np.load(path) if resumed and path.is_file() else None
    if neighbours is None or neighbours.shape[0] != batcher.num_items:
        was_training = model.training
        neighbours = mine_neighbours(model.eval(), batcher)
        model.train(was_training)
        if save:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_save_npy(path, neighbours)
    return NeighbourStream(batcher.stream, neighbours, share)
