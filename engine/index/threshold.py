"""Exact top k of one index block by early termination over impact-ordered postings.

Fagin's threshold idea, NRA flavour (the index keeps no forward store). Each query term's postings in a
block are sorted by weight, heaviest first. After reading the first L postings of every term, a
document's score is known to lie between

    lower(d) = the sum of its contributions read so far
    upper(d) = lower(d) + the sum, over the terms whose prefix did not contain d, of that term's next weight

and a document seen in no prefix scores at most B, the sum of all next weights. The k documents with
the best lower bounds are the answer once every other document's upper bound, and B, fall below the
k-th lower bound; otherwise L grows eightfold. When L would reach the longest list the search gives
up and the caller scores every posting once (cheaper than a last pass of bounds over all of them;
lists shorter than the first prefix are read whole, where the bounds are exact). A chosen document
may still miss a term it does not hold at all, which no prefix can prove, so its exact score is then
read by one pass over the rest of that term's postings (a gather through a per-document rank buffer,
far cheaper than scoring them). Scores are summed term by term
in query order, as the exhaustive path does, so both agree bit for bit, ties going to the smaller
document.

Because every term's bound is fixed within one pass, "the bounds of the terms d was seen in" is
accumulated per document like its score: upper(d) = lower(d) + B - covered(d), for any number of terms.
"""
from __future__ import annotations

import numpy as np

FIRST_PREFIX = 512   # postings a term reads in the first pass (at least 8k)
GROWTH = 8


def block_top_k(docs_by_term: list[np.ndarray], levels_by_term: list[np.ndarray], units, k: int,
                lower: np.ndarray, covered: np.ndarray, rank: np.ndarray):
    """Exact top k of one block: (offsets int64, scores float32, contributions (k, terms) float32, best first;
    postings read in the last pass), or None when the bounds do not settle before the prefixes would
    cover the longest list (then scoring every posting once is cheaper: the caller does that).

    docs_by_term[j], levels_by_term[j]: term j's postings in this block (uint16 offsets, uint8 levels,
    levels non-increasing). units[j] = (term scale, query weight > 0), float32: a posting contributes
    float32(level * term scale) * query weight, as in the exhaustive path.
    lower, covered (float32, zeros) and rank (int32, -1): buffers of at least 65,536 entries, restored
    on return.
    """
    sizes = [len(d) for d in docs_by_term]
    length = min(max(sizes), max(FIRST_PREFIX, 8 * k))
    while True:
        read = [min(length, n) for n in sizes]
        prefixes = [d[:r] for d, r in zip(docs_by_term, read)]
        bounds = [_contribution(lv[r:r + 1], u)[0] if r < len(lv) else np.float32(0)
                  for lv, r, u in zip(levels_by_term, read, units)]
        everything = np.float32(0)
        try:
            for docs, lv, r, u, bound in zip(prefixes, levels_by_term, read, units, bounds):
                # a document appears once per term, so fancy-index += is safe (no duplicate targets)
                lower[docs] += _contribution(lv[:r], u)
                covered[docs] += bound
                everything += bound
            if sum(read) > len(lower) // 16:   # many postings: scanning the block beats sorting them
                candidates = np.flatnonzero(lower[:max(int(d.max()) for d in prefixes if d.size) + 1])
            else:
                candidates = np.unique(np.concatenate(prefixes)).astype(np.int64)
            missing = everything - covered[candidates]
            top = _settled(candidates, lower[candidates], missing, everything, k)
        finally:
            for docs in prefixes:
                lower[docs] = 0.0
                covered[docs] = 0.0
        if top is not None:
            return (*_exact(candidates[top], docs_by_term, levels_by_term, units, rank, k, read), sum(read))
        length *= GROWTH
        if length >= max(sizes):
            return None   # reading everything this way costs more than the caller's one scoring pass


def _contribution(levels: np.ndarray, unit) -> np.ndarray:
    scale, weight = unit
    return np.multiply(levels, scale, dtype=np.float32) * weight


def _settled(candidates, lower, missing, everything, k):
    """Positions (in candidates) of the top k by lower bound if no other document can overtake them."""
    top = ordered_top_k(candidates, lower, k)
    if len(top) < k:   # fewer documents seen than k: only final when nothing is left unread
        return top if everything == 0 else None
    kth = lower[top[-1]]
    rest = np.ones(len(candidates), dtype=bool)
    rest[top] = False
    upper = lower[rest] + missing[rest]
    # an outsider that can at best equal the k-th bound loses the tie if its number is larger than every
    # chosen document that may end there (unread documents have unknown numbers: they must stay below)
    last_tied = candidates[top][lower[top] == kth].max()
    if everything >= kth or np.any((upper > kth) | ((upper == kth) & (candidates[rest] < last_tied))):
        return None
    return top


def _exact(chosen, docs_by_term, levels_by_term, units, rank, k, read):
    """Exact scores and per-term contributions of the chosen documents, by gathers through their ranks:
    over each term's prefix, then over the rest of a term's list only if a chosen document was not in
    its prefix (it may hold the term lower down, or not at all)."""
    contributions = np.zeros((len(chosen), len(docs_by_term)), dtype=np.float32)
    rank[chosen] = np.arange(len(chosen), dtype=np.int32)
    try:
        for j, (docs, levels, unit, r) in enumerate(zip(docs_by_term, levels_by_term, units, read)):
            seen = _gather(contributions, j, rank, docs[:r], levels[:r], unit)
            if seen < len(chosen) and r < len(docs):
                _gather(contributions, j, rank, docs[r:], levels[r:], unit)
    finally:
        rank[chosen] = -1
    scores = np.zeros(len(chosen), dtype=np.float32)
    for j in range(contributions.shape[1]):   # term by term, like the exhaustive accumulation
        scores += contributions[:, j]
    best = ordered_top_k(chosen, scores, k)
    return chosen[best], scores[best], contributions[best]


def _gather(contributions, j, rank, docs, levels, unit) -> int:
    """Fill column j for the chosen documents among `docs`; returns how many were there."""
    where = rank[docs]
    found = np.flatnonzero(where >= 0)
    contributions[where[found], j] = _contribution(levels[found], unit)
    return len(found)


def ordered_top_k(docs: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best (score descending, then document ascending), best first."""
    if len(docs) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = np.flatnonzero(scores >= kth)
    else:
        keep = np.arange(len(docs))
    return keep[np.lexsort((docs[keep], -scores[keep]))[:k]]
