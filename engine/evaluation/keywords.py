"""Keyword search quality on label datasets: does `raise left hand` find raise-up-left-hand takes?

For every distinct label the label's own words are the query (no text encoder: the seed's
non-parametric query); precision@k is the share of the top k takes carrying that label.
"""
from __future__ import annotations

import numpy as np

from ..index import SparseIndex, parse_keyword_query


def label_query(label: str) -> str:
    """'raise-up-left-hand' -> 'raise up left hand'; 'punch_left+turn_left' -> 'punch left turn left'."""
    return label.replace("-", " ").replace("_", " ").replace("+", " ")


def keyword_precision(motion_vectors, labels: list[str], tokenizer, k: int = 5) -> dict:
    index = SparseIndex.build(motion_vectors, [str(i) for i in range(len(labels))])
    labels_arr = np.asarray(labels)
    per_label = {}
    for label in sorted(set(labels)):
        weights, negatives, _ = parse_keyword_query(label_query(label), tokenizer)
        hits = index.search(weights, k=k, negatives=negatives, explain=0)
        per_label[label] = round(100.0 * sum(labels_arr[h.index] == label for h in hits) / k, 2)
    return {"k": k, "mean_precision": round(float(np.mean(list(per_label.values()))), 2),
            "per_label": per_label}
