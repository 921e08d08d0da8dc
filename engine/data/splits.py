"""Deterministic train/val/test splits by item id, stratified by a group (e.g. a content label).

Within each group the ids are ordered by a hash of the id (not by name, not by chance), and the
first ~80% go to train, the next ~10% to val, the rest to test. The same id always lands in the
same split, whatever else is in the folder, as long as its group's size does not change; and a
group of 3+ items is present in every split.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable

RATIOS = (0.8, 0.1, 0.1)


def id_hash(item_id: str) -> int:
    return int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:8], "big")


def split_counts(n: int, ratios=RATIOS) -> tuple[int, int, int]:
    """(train, val, test) sizes for a group of n; val and test get at least one when n >= 3."""
    n_val = round(n * ratios[1])
    n_test = round(n * ratios[2])
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    elif n == 2:
        n_val, n_test = 0, 1
    else:
        n_val = n_test = 0
    return n - n_val - n_test, n_val, n_test


def assign_splits(ids: Iterable[str], group_of: Callable[[str], str] = lambda _: "",
                  ratios=RATIOS) -> dict[str, str]:
    """Map every id to "train" | "val" | "test"."""
    groups: dict[str, list[str]] = defaultdict(list)
    for item_id in ids:
        groups[group_of(item_id)].append(item_id)
    result = {}
    for members in groups.values():
        members = sorted(set(members), key=lambda i: (id_hash(i), i))
        n_train, n_val, _ = split_counts(len(members), ratios)
        for rank, item_id in enumerate(members):
            result[item_id] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    return result
