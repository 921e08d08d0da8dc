"""Exact top k of a keyword query by early termination over impact-ordered postings.

Fagin's threshold idea, NRA flavour (the index keeps no forward store). Each query term's postings are
sorted by weight, heaviest first, inside each block of 65,536 documents. After reading a prefix of every
(term, block) list, a document's score is known to lie between

    lower(d) = the sum of its contributions read so far
    upper(d) = lower(d) + the sum, over the terms whose prefix did not contain d, of that term's next
               weight in d's block

and a document of block b seen in no prefix scores at most B_b, the sum of its block's next weights.
The k documents with the best lower bounds are the answer once every other document's upper bound, and
every B_b, fall below the k-th lower bound. All blocks are bounded together, in one pass over buffers of
N entries: the fixed cost of a pass (a few dozen numpy calls) is paid once per query, not per block.

Two passes at most:
1. the first FIRST_PREFIX postings of every list (lists this short are read whole: exact bounds);
2. if that did not settle, its k-th lower bound theta is a score k documents are known to reach, and a
   document can only reach theta if, for every term j, its contribution is at least
   t_j = theta - sum of the other terms' heaviest contributions. Each list is read down to its last
   posting >= t_j (a binary search in the impact order), and then every document missing from some list's
   prefix is bounded below theta, so the pass settles (up to float rounding and ties).
If the second pass would read more than half of all postings, or still does not settle, the caller scores
every posting once instead. A chosen document may still miss a term it does not hold at all, which no
prefix can prove, so its exact score is read by one pass over the rest of that term's list (a gather
through a per-document rank buffer, far cheaper than scoring them). Scores are summed term by term in
query order, as the exhaustive path does, so both agree bit for bit, ties going to the smaller document.

Because every list's bound is fixed within one pass, "the bounds of the terms d was seen in" is
accumulated per document like its score: upper(d) = lower(d) + B_b(d) - covered(d), for any number of terms.
"""
from __future__ import annotations

import numpy as np

FIRST_PREFIX = 512     # postings of each (term, block) list read by the first pass (at least 8k)
JUMP_MAX_SHARE = 0.5   # the second pass may read at most this share of all postings
BLOCK_BITS = 16        # documents are addressed as (block, uint16 offset)


def top_k(lists, units, k: int, lower: np.ndarray, covered: np.ndarray, rank: np.ndarray):
    """Exact top k: (documents int64, scores float32, contributions (k, terms) float32, best first;
    postings read), or None when the bounds do not settle cheaply (the caller then scores every posting).

    lists[j]: term j's non-empty per-block lists as (block, offsets uint16, levels uint8), levels
    non-increasing (no lists when the term is absent). units[j] = (term scale, query weight > 0),
    float32: a posting contributes float32(level * term scale) * query weight, as in the exhaustive path.
    lower, covered (float32, zeros) and rank (int32, -1): buffers of N entries, restored on return.
    """
    if not any(lists):   # no query term occurs in the index
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), np.zeros((0, len(lists)), np.float32), 0
    first = max(FIRST_PREFIX, 8 * k)
    read = [[min(first, len(docs)) for _, docs, _ in term] for term in lists]
    chosen, theta = _bounded_pass(lists, units, k, lower, covered, read)
    if chosen is None and theta is not None:
        read = _jump(lists, units, read, theta)
        if read is not None:
            chosen, _ = _bounded_pass(lists, units, k, lower, covered, read)
    if chosen is None:
        return None
    return (*_exact(chosen, lists, units, rank, k, read), sum(map(sum, read)))


def _contribution(levels: np.ndarray, unit) -> np.ndarray:
    scale, weight = unit
    return np.multiply(levels, scale, dtype=np.float32) * weight


def _view(buffer: np.ndarray, block: int) -> np.ndarray:
    """The buffer's entries for one block, addressed by the block's uint16 offsets."""
    return buffer[block << BLOCK_BITS:(block + 1) << BLOCK_BITS]


def _bounded_pass(lists, units, k, lower, covered, read):
    """(chosen documents or None, the k-th lower bound or None when fewer than k documents were seen)."""
    n_blocks = max(b for term in lists for b, _, _ in term) + 1
    everything = np.zeros(n_blocks, dtype=np.float32)   # B_b
    seen = []
    try:
        for term, unit, lengths in zip(lists, units, read):
            for (block, docs, levels), r in zip(term, lengths):
                bound = _contribution(levels[r:r + 1], unit)[0] if r < len(levels) else np.float32(0)
                seen.append(docs[:r].astype(np.int64) + (block << BLOCK_BITS))   # before writing: restored
                # a document appears once per list, so fancy-index += is safe (no duplicate targets)
                _view(lower, block)[docs[:r]] += _contribution(levels[:r], unit)
                _view(covered, block)[docs[:r]] += bound
                everything[block] += bound
        candidates = distinct(np.concatenate(seen))
        scores = lower[candidates]
        missing = everything[candidates >> BLOCK_BITS] - covered[candidates]
    finally:
        for docs in seen:
            lower[docs] = 0.0
            covered[docs] = 0.0
    top = ordered_top_k(candidates, scores, k)
    theta = scores[top[-1]] if len(top) == k else None
    return (None if not _settled(candidates, scores, missing, everything.max(), top, theta) else candidates[top]), theta


def _settled(candidates, lower, missing, unread_bound, top, kth) -> bool:
    """True when no document outside `top` (positions in candidates) can overtake it."""
    if kth is None:   # fewer documents seen than k: only final when nothing is left unread
        return unread_bound == 0
    rest = np.ones(len(candidates), dtype=bool)
    rest[top] = False
    upper = lower[rest] + missing[rest]
    # an outsider that can at best equal the k-th bound loses the tie if its number is larger than every
    # chosen document that may end there (unread documents have unknown numbers: they must stay below)
    last_tied = candidates[top][lower[top] == kth].max()
    return not (unread_bound >= kth or np.any((upper > kth) | ((upper == kth) & (candidates[rest] < last_tied))))


def _jump(lists, units, read, theta):
    """Prefix lengths holding every posting that can still lift a document to theta, or None when that
    is more than JUMP_MAX_SHARE of all postings."""
    heaviest = [max((_contribution(levels[:1], unit)[0] for _, _, levels in term), default=np.float32(0))
                for term, unit in zip(lists, units)]
    total = sum(heaviest, np.float32(0))
    lengths, reading, postings = [], 0, 0
    for term, unit, heavy, before in zip(lists, units, heaviest, read):
        needed = theta - (total - heavy)   # this term's least contribution in a document reaching theta
        table = _contribution(np.arange(256, dtype=np.uint8), unit)   # contribution of each level, increasing
        level = int(np.searchsorted(table, needed, side="left")) if needed > 0 else 0
        term_lengths = []
        for (_, _, levels), r in zip(term, before):
            # levels are non-increasing: count those >= level by a search in the reversed (ascending) view
            count = 0 if level > 255 else len(levels) - int(np.searchsorted(levels[::-1], np.uint8(level), side="left"))
            term_lengths.append(max(r, count))
            postings += len(levels)
        reading += sum(term_lengths)
        lengths.append(term_lengths)
    return lengths if reading <= JUMP_MAX_SHARE * postings else None


def _exact(chosen, lists, units, rank, k, read):
    """Exact scores and per-term contributions of the chosen documents, by gathers through their ranks:
    over each list's prefix, then over the rest of a list only if a chosen document of its block was not
    in the prefix (it may hold the term lower down, or not at all)."""
    contributions = np.zeros((len(chosen), len(lists)), dtype=np.float32)
    wanted = np.bincount(chosen >> BLOCK_BITS)   # chosen documents per block
    rank[chosen] = np.arange(len(chosen), dtype=np.int32)
    try:
        for j, (term, unit, lengths) in enumerate(zip(lists, units, read)):
            for (block, docs, levels), r in zip(term, lengths):
                if block >= len(wanted) or wanted[block] == 0:
                    continue
                ranks = _view(rank, block)
                found = _gather(contributions, j, ranks, docs[:r], levels[:r], unit)
                if found < wanted[block] and r < len(docs):
                    _gather(contributions, j, ranks, docs[r:], levels[r:], unit)
    finally:
        rank[chosen] = -1
    scores = np.zeros(len(chosen), dtype=np.float32)
    for j in range(contributions.shape[1]):   # term by term, like the exhaustive accumulation
        scores += contributions[:, j]
    best = ordered_top_k(chosen, scores, k)
    return chosen[best], scores[best], contributions[best]


def _gather(contributions, j, ranks, docs, levels, unit) -> int:
    """Fill column j for the chosen documents among `docs`; returns how many were there."""
    where = ranks[docs]
    found = np.flatnonzero(where >= 0)
    contributions[where[found], j] = _contribution(levels[found], unit)
    return len(found)


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique's hash-based path costs ~5x more on a few thousand ids)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def ordered_top_k(docs: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best (score descending, then document ascending), best first."""
    if len(docs) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = np.flatnonzero(scores >= kth)
    else:
        keep = np.arange(len(docs))
    return keep[np.lexsort((docs[keep], -scores[keep]))[:k]]
