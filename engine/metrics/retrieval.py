"""Text<->motion retrieval metrics in the four protocols of TMR (Petrovich et al. 2023), plus label relevance.

Everything starts from one score matrix `scores` of shape (n_text, n_motion), higher = more similar.
A query's rank is the 0-based position of its *best-scored relevant* item in the sorted list; ties
are broken by averaging the tied positions (TMR's default "averaging"), so a query tied with 3 others
gets rank 1.5. R@k is the percentage of queries with rank < k, MedR is median(rank) + 1.

Pairing: by default text i describes motion i (square matrix). With several texts per motion pass
`text_to_motion` (n_text,) holding each text's motion index: a text query is correct when it finds
its motion, a motion query when it finds any of its texts (TMR's min-distance rule over relevant items).
"""
from __future__ import annotations

import numpy as np

RECALL_AT = (1, 2, 3, 5, 10)
ROW_CHUNK = 1024  # rows ranked at once: bounds the temporary (chunk, n) arrays


def ranks_of_first_relevant(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """0-based rank of the best relevant item per row, ties averaged; NaN for rows without a relevant item."""
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.shape != relevant.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} must be equal 2-D shapes")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    ranks = np.full(scores.shape[0], np.nan)
    for start in range(0, scores.shape[0], ROW_CHUNK):
        s, r = scores[start:start + ROW_CHUNK], relevant[start:start + ROW_CHUNK]
        best = np.where(r, s, -np.inf).max(axis=1, keepdims=True)
        higher = (s > best).sum(axis=1)
        tied = (s == best).sum(axis=1)  # includes the relevant item itself
        rank = higher + (tied - 1) / 2.0
        ranks[start:start + ROW_CHUNK] = np.where(r.any(axis=1), rank, np.nan)
    return ranks


def metrics_from_ranks(ranks: np.ndarray) -> dict[str, float]:
    """R@1,2,3,5,10 in percent and MedR over the queries that had a relevant item."""
    ranks = np.asarray(ranks, dtype=np.float64)
    ranks = ranks[~np.isnan(ranks)]
    if ranks.size == 0:
        raise ValueError("no query has a relevant item")
    out = {f"R@{k}": float(100.0 * np.mean(ranks < k)) for k in RECALL_AT}
    out["MedR"] = float(np.median(ranks) + 1.0)
    out["n_queries"] = int(ranks.size)
    return out


def _pair_relevance(n_text: int, n_motion: int, text_to_motion: np.ndarray | None) -> np.ndarray:
    """(n_text, n_motion) bool: text i describes motion j."""
    t2m = _text_to_motion(n_text, n_motion, text_to_motion)
    return t2m[:, None] == np.arange(n_motion)[None, :]


def _text_to_motion(n_text: int, n_motion: int, text_to_motion: np.ndarray | None) -> np.ndarray:
    if text_to_motion is None:
        if n_text != n_motion:
            raise ValueError(f"{n_text} texts vs {n_motion} motions: pass text_to_motion")
        return np.arange(n_text)
    t2m = np.asarray(text_to_motion, dtype=np.int64)
    if t2m.shape != (n_text,) or t2m.min(initial=0) < 0 or t2m.max(initial=0) >= n_motion:
        raise ValueError("text_to_motion must hold one motion index in [0, n_motion) per text")
    return t2m


def _both_directions(scores: np.ndarray, relevant: np.ndarray) -> dict[str, dict[str, float]]:
    scores = np.asarray(scores)
    return {"t2m": metrics_from_ranks(ranks_of_first_relevant(scores, relevant)),
            "m2t": metrics_from_ranks(ranks_of_first_relevant(scores.T, relevant.T))}


def retrieval_all(scores: np.ndarray, text_to_motion: np.ndarray | None = None) -> dict:
    """Protocol (a) "all": every text against every motion; only a text's own motion counts."""
    scores = np.asarray(scores)
    return _both_directions(scores, _pair_relevance(*scores.shape, text_to_motion))


def retrieval_threshold(scores: np.ndarray, text_sim: np.ndarray, threshold: float = 0.95,
                        text_to_motion: np.ndarray | None = None) -> dict:
    """Protocol (b) "threshold": a motion is also correct when one of its texts is near the query text.

    `text_sim` (n_text, n_text) is a cosine similarity between text embeddings (TMR: all-mpnet-base-v2).
    As in TMR the threshold lives on the rescaled similarity (cos + 1) / 2, so the default 0.95 keeps
    pairs with cos >= 0.90. Exact duplicate captions (cos = 1) are therefore always counted as correct.
    """
    scores = np.asarray(scores)
    n_text, n_motion = scores.shape
    text_sim = np.asarray(text_sim, dtype=np.float64)
    if text_sim.shape != (n_text, n_text):
        raise ValueError(f"text_sim must be ({n_text}, {n_text}), got {text_sim.shape}")
    near = (text_sim >= 2.0 * threshold - 1.0).astype(np.float32)        # text i ~ text k
    owner = _pair_relevance(n_text, n_motion, text_to_motion).astype(np.float32)  # text k -> motion j
    relevant = (near @ owner > 0) | owner.astype(bool)
    return _both_directions(scores, relevant)


def dissimilar_subset(text_sim: np.ndarray, size: int = 100, seed: int = 0) -> np.ndarray:
    """Greedy choice of `size` items whose texts are mutually dissimilar (max-min / farthest point).

    TMR samples 100 pairs "such that their texts are dissimilar"; we start from a seeded random item and
    repeatedly add the item whose highest similarity to the chosen set is the lowest. Deterministic per seed.
    """
    text_sim = np.asarray(text_sim, dtype=np.float64)
    n = text_sim.shape[0]
    if size >= n:
        return np.arange(n)
    chosen = [int(np.random.default_rng(seed).integers(n))]
    closest = text_sim[chosen[0]].copy()  # each item's highest similarity to the chosen set
    closest[chosen[0]] = np.inf
    for _ in range(size - 1):
        nxt = int(np.argmin(closest))
        chosen.append(nxt)
        closest = np.maximum(closest, text_sim[nxt])
        closest[chosen] = np.inf
    return np.sort(np.array(chosen))


def retrieval_dissimilar(scores: np.ndarray, text_sim: np.ndarray, size: int = 100, seed: int = 0,
                         text_to_motion: np.ndarray | None = None) -> dict:
    """Protocol (c) "dissimilar subset": protocol "all" on `size` pairs with dissimilar texts.

    With several texts per motion, each motion is represented by its first text. The chosen pair
    indices (into the texts) are returned under "indices".
    """
    scores = np.asarray(scores)
    t2m = _text_to_motion(*scores.shape, text_to_motion)
    _, first_text = np.unique(t2m, return_index=True)  # one text per motion, motions in order
    sub = first_text[dissimilar_subset(np.asarray(text_sim)[np.ix_(first_text, first_text)], size, seed)]
    out = retrieval_all(scores[np.ix_(sub, t2m[sub])])
    out["indices"] = sub.tolist()
    return out


def retrieval_batches(scores: np.ndarray, batch_size: int = 32,
                      text_to_motion: np.ndarray | None = None) -> dict:
    """Protocol (d): average of protocol "all" over consecutive batches of `batch_size` (text, motion) pairs.

    As Guo et al. / TMR, the last incomplete batch is dropped (kept only when it is the only batch).
    Two texts of one batch describing the same motion both count that motion as correct.
    """
    scores = np.asarray(scores)
    t2m = _text_to_motion(*scores.shape, text_to_motion)
    n_batches = max(1, len(t2m) // batch_size)
    per_batch = []
    for b in range(n_batches):
        texts = np.arange(b * batch_size, min(len(t2m), (b + 1) * batch_size))
        motions = t2m[texts]
        relevant = motions[:, None] == motions[None, :]
        per_batch.append(_both_directions(scores[np.ix_(texts, motions)], relevant))
    return {d: {k: float(np.mean([m[d][k] for m in per_batch])) for k in per_batch[0][d]}
            | {"n_batches": n_batches} for d in ("t2m", "m2t")}


def retrieval_labels(scores: np.ndarray, text_labels, motion_labels) -> dict:
    """Label relevance (e.g. Bandai): a motion is relevant to a text when their labels are equal.

    Queries whose label has no counterpart on the other side are left out (see "n_queries").
    """
    scores = np.asarray(scores)
    tl, ml = np.asarray(text_labels), np.asarray(motion_labels)
    if tl.shape != (scores.shape[0],) or ml.shape != (scores.shape[1],):
        raise ValueError("one label per text row and one per motion column expected")
    return _both_directions(scores, tl[:, None] == ml[None, :])
