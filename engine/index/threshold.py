"""Exact top k of a keyword query by Fagin's threshold algorithm (TA) over impact-ordered postings.

Each query term's postings are sorted by weight, heaviest first, inside each block of 65,536 documents.
Rounds read every (term, block) list down to a depth (FIRST_DEPTH, then GROWTH times deeper each round).
Every document seen in some prefix is scored *exactly* at once, by random access to its weight for each
query term:
  - a term held by at least COLUMN_SHARE of the documents has a document-ordered column of its levels in
    the index (one byte per document, fewer bytes than its postings): a gather;
  - a rarer term is looked up by one pass over its (shorter) list through a per-document rank buffer.
A document of block b seen in no prefix scores at most U_b, the sum over terms of the term's next weight
in block b. Once the k-th exact score exceeds every U_b, no unread document can enter the top k and the
answer is exact. Exact scores are what make this stop early on near-duplicate libraries where bounds on
partial sums (NRA) never settle: the k-th score rises to its final value as soon as the best documents
are seen once, in any list.

If the next round would read more than MAX_SHARE of the query's postings, the caller scores every posting
instead (one pass of additions is cheaper than deep rounds of gathers). Scores are summed term by term in
query order, as the exhaustive path does, so both agree bit for bit; ties go to the smaller document.
"""
from __future__ import annotations

import numpy as np

FIRST_DEPTH = 256      # postings of each (term, block) list read by the first round (at least 2k)
GROWTH = 4             # each further round reads this many times deeper
MAX_SHARE = 0.25       # the rounds may read at most this share of the query's postings
COLUMN_SHARE = 0.5     # terms held by at least this share of the documents get a level column
BLOCK_BITS = 16        # documents are addressed as (block, uint16 offset)


def top_k(lists, units, columns, k: int, marks: np.ndarray, rank: np.ndarray):
    """Exact top k: (documents int64, scores float32, contributions (k, terms) float32, best first;
    postings read), or None when the rounds would read too much (the caller then scores every posting).

    lists[j]: term j's non-empty per-block lists as (block, offsets uint16, levels uint8), levels
    non-increasing (no lists when the term is absent). units[j] = (term scale, query weight > 0),
    float32: a posting contributes float32(level * term scale) * query weight, as in the exhaustive path.
    columns[j]: term j's levels of all N documents (uint8, 0 where absent) or None.
    marks (bool, False) and rank (int32, -1): buffers of N entries, restored on return.
    """
    total = sum(len(docs) for term in lists for _, docs, _ in term)
    best = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), np.zeros((0, len(lists)), np.float32)
    before, depth, seen = 0, max(FIRST_DEPTH, 2 * k), []
    try:
        while True:
            new = _first_seen(lists, before, depth, marks, seen)
            if len(new):
                best = _keep_best(best, new, _contributions(new, lists, units, columns, rank), k)
            unread = _unread_bound(lists, units, depth)
            docs, scores, _ = best
            if unread == 0 or (len(docs) == k and unread < scores[-1]):
                return (*best, _postings_read(lists, depth))
            before, depth = depth, depth * GROWTH
            if _postings_read(lists, depth) > MAX_SHARE * total:
                return None
    finally:
        for docs in seen:
            marks[docs] = False


def _contribution(levels: np.ndarray, unit) -> np.ndarray:
    scale, weight = unit
    return np.multiply(levels, scale, dtype=np.float32) * weight


def _view(buffer: np.ndarray, block: int) -> np.ndarray:
    """The buffer's entries for one block, addressed by the block's uint16 offsets."""
    return buffer[block << BLOCK_BITS:(block + 1) << BLOCK_BITS]


def _postings_read(lists, depth: int) -> int:
    return sum(min(depth, len(docs)) for term in lists for _, docs, _ in term)


def _first_seen(lists, before: int, depth: int, marks: np.ndarray, seen: list) -> np.ndarray:
    """Documents at ranks [before, depth) of some list that no earlier round scored (sorted int64)."""
    parts = [docs[before:depth].astype(np.int64) + (block << BLOCK_BITS)
             for term in lists for block, docs, _ in term if before < len(docs)]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    new = distinct(np.concatenate(parts))
    new = new[~marks[new]]
    marks[new] = True
    seen.append(new)
    return new


def _contributions(docs: np.ndarray, lists, units, columns, rank: np.ndarray) -> np.ndarray:
    """(len(docs), terms) float32: each document's exact contribution from each query term."""
    out = np.zeros((len(docs), len(lists)), dtype=np.float32)
    rare = [j for j, column in enumerate(columns) if column is None and lists[j]]
    for j, column in enumerate(columns):
        if column is not None:
            out[:, j] = _contribution(column[docs], units[j])
    if rare:
        rank[docs] = np.arange(len(docs), dtype=np.int32)
        try:
            for j in rare:
                for block, offsets, levels in lists[j]:
                    where = _view(rank, block)[offsets]
                    found = np.flatnonzero(where >= 0)
                    out[where[found], j] = _contribution(levels[found], units[j])
        finally:
            rank[docs] = -1
    return out


def _keep_best(best, docs, contributions, k):
    """The k best of the previous best and the newly scored documents."""
    docs = np.concatenate([best[0], docs])
    contributions = np.concatenate([best[2], contributions])
    scores = np.zeros(len(docs), dtype=np.float32)
    for j in range(contributions.shape[1]):   # term by term, like the exhaustive accumulation
        scores += contributions[:, j]
    keep = ordered_top_k(docs, scores, k)
    return docs[keep], scores[keep], contributions[keep]


def _unread_bound(lists, units, depth: int) -> np.float32:
    """max over blocks of the sum of each term's next weight there: no unread document scores more.
    Summed in query order in float32, so it bounds the float32 sums of the exact scores too."""
    bound = {}
    for term, unit in zip(lists, units):
        for block, _, levels in term:
            if depth < len(levels):
                bound[block] = bound.get(block, np.float32(0)) + _contribution(levels[depth:depth + 1], unit)[0]
    return max(bound.values(), default=np.float32(0))


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
