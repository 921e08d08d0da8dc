"""Ours: in joint-dataset training, every batch takes each dataset in a fixed share (`data.shares`).

Drawn uniformly over all clips, a dataset's share of every batch is its share of the clips. Adding a second
procedural library to `align` (more clips of every primitive) thus cut Bandai from 59% of each batch to 42%,
and Bandai's content-word fidelity with it (bench/RESULTS.md, thirteenth session). With
`data.shares=bandai=0.59` a batch of 32 holds 19 Bandai clips whatever else is added; the datasets not named
split the rest by their sizes.

Each dataset keeps its own epoch order (batching.ItemStream seeded by seed, phase and dataset), so a batch
stays a pure function of (seed, phase, step): a resumed run sees the batches of an uninterrupted one. The
batch is then shuffled, seeded the same way, so each DDP rank's contiguous shard mixes the datasets.
"""
from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .batching import ItemStream, stable_seed


def batch_quotas(sizes: list[int], named: list[float | None], batch_size: int) -> list[int]:
    """Clips per batch of each dataset: a named one gets its share, the others the rest in proportion to their
    sizes (by largest remainder, so the quotas add up to batch_size). Datasets all named share by their ratios."""
    rest = 1.0 - sum(s for s in named if s is not None)
    unnamed = sum(n for n, s in zip(sizes, named) if s is None)
    if unnamed == 0:   # every dataset named: their shares relative to each other
        total = sum(named)
        shares = [s / total for s in named]
    else:
        shares = [s if s is not None else rest * n / unnamed for n, s in zip(sizes, named)]
    exact = [s * batch_size for s in shares]
    quotas = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: quotas[i] - exact[i])
    for i in by_remainder[:batch_size - sum(quotas)]:
        quotas[i] += 1
    return quotas


class SharedStream:
    """ItemStream's interface (n, seed, phase, batch_size, batch, resized) over datasets drawn in quotas.
    `groups[g]` holds the item indices of dataset g."""

    def __init__(self, groups: list[np.ndarray], named: list[float | None], seed: int, phase: str,
                 batch_size: int):
        self.groups, self.named = groups, named
        self.n, self.seed, self.phase, self.batch_size = sum(len(g) for g in groups), seed, phase, batch_size
        self.quotas = batch_quotas([len(g) for g in groups], named, batch_size)
        self.streams = [ItemStream(len(g), seed, f"{phase}/dataset{i}", q) if q else None
                        for i, (g, q) in enumerate(zip(groups, self.quotas))]

    def batch(self, step: int) -> list[tuple[int, int, float]]:
        out = []
        for group, stream in zip(self.groups, self.streams):
            if stream is not None:
                out += [(int(group[item]), draw, crop) for item, draw, crop in stream.batch(step)]
        order = np.random.default_rng(stable_seed(self.seed, self.phase, "shares", step)).permutation(len(out))
        return [out[i] for i in order]

    def resized(self, batch_size: int) -> "SharedStream":
        return SharedStream(self.groups, self.named, self.seed, self.phase, batch_size)


def shared_stream(clips, shares: dict[str, float], seed: int, phase: str, batch_size: int) -> SharedStream:
    """The stream of `clips` (of a joint dataset: clip.meta["dataset"] names each one's dataset) with `shares`."""
    names = [c.meta.get("dataset", "") for c in clips]
    present = list(dict.fromkeys(names))
    unknown = [name for name in shares if name not in present]
    if unknown:
        raise SpecError(f"data.shares names {', '.join(unknown)}, not among the training data's datasets "
                        f"({', '.join(p or '(one dataset, no prefix)' for p in present)})")
    groups = [np.flatnonzero(np.asarray(names) == name) for name in present]
    return SharedStream(groups, [shares.get(name) for name in present], seed, phase, batch_size)
