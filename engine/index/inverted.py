"""SparseIndex: an inverted index over lexical vectors, scored by dot product, with explanations.

Storage (N documents in blocks of 65,536, |V| < 65,536 terms, nnz stored weights):
  postings   per (term t, block b), entries seg_indptr[t * B + b] : seg_indptr[t * B + b + 1] of
             inv_docs (uint16: the document's offset inside block b) and inv_weights (uint8: the weight
             in units of term_scale[t], the term's largest weight / 255), *impact ordered* inside each
             segment: a one-term query's top k is among the first k postings of each block.
  columns    for the terms held by at least half of the documents (column_terms, sorted), the level of
             every document in document order (uint8, 0 where absent): random access for early
             termination, at one byte per document where the term's postings already take >= 1.5.
  => 3 bytes per stored weight, plus 8 bytes per (term, block) offset and 4 per term scale, plus the
  columns: 64 terms a motion take 192 bytes, under a quarter of a 256-d float32 vector (1,024 bytes).
  There is no forward store: a hit's explanation and `matrix()` are read back from the postings.

Rounding a weight to 1/255 of its term's largest weight changes scores by well under a percent; the
retrieval benchmark measures R@10 through the index (bench/bench_retrieval.py, storage vs R@10).

Queries of a few positive terms (keywords) stop early (engine/index/threshold.py, Fagin's threshold
algorithm): postings are read heaviest first in rounds of deeper prefixes, every document seen is scored
exactly, and reading stops once no unread document can reach the k-th score (or, when that would take
too long, every posting is scored); the answer is the exhaustive one, ties broken by the smaller
document number. Queries with negative terms (`-left`)
score every posting of their terms: np.add.at(scores, docs, q_w * d_w) per term into a reusable float32
buffer, then the top k among the touched documents (by one partition of the N scores when the
postings outnumber N/4); the negative terms exclude the documents where they are *salient* (Salience below),
or, with `negative_weight=w`, subtract w * d_w from the score of every document holding them.

Salience (what `-left` means): a lexical model spreads weight over many terms, and a term that captions
use often ("left") carries some weight in every motion: excluding every document that holds it excludes
the library. A term t is salient in document d when
  - fewer than `top` (8) of d's counted terms weigh more than t (t is among d's 8 heaviest words: with the
    vocabulary's displayable words counted, the 8 biggest words of the motion's word cloud), and
  - when t has an opposite (left/right, forward/backward, up/down), t weighs more than it in d (and than its
    rivals: "both" for left and right), and the rank above is counted to 16 instead: a model trained on
    captions that name sides activates both words of the pair in nearly every motion, the side it shows is
    the heavier one (as the audit's side balance counts it), and side words rank below the action's words.
Salience(top=None) without opposites is the plain rule "every document holding t".

The same class indexes captions for motion-to-text search: build it over caption vectors with
caption ids and query it with a motion vector.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from engine.index.hit import Hit
from engine.index.salience import Salience
from engine.index.sparse import query_terms, top_k_sparsify
from engine.index.threshold import BLOCK_BITS, COLUMN_SHARE, distinct, ordered_top_k, top_k
from engine.index.store import load_arrays, save_arrays
from engine.errors import InputError

MAX_VOCAB = 1 << 16    # postings are addressed per term; term ids stay below 2^16 as in BERT's 30,522
LEVELS = 255           # uint8 weight levels per term
KIND = "motionlex.sparse_index/2"   # /2: level columns; an index saved before them is rebuilt
DENSE_REGIME_FRACTION = 4  # postings >= N / 4: select the top k by one partition of all N scores
# Queries of up to this many terms stop early (keyword queries); longer ones (a text query's 64 terms)
# score every posting: each round of the threshold algorithm would score thousands of documents on every
# term (25 ms vs 5.6 ms at 100k in a trial; bench/bench_retrieval.py measures both paths).
EARLY_STOP_MAX_TERMS = 8
ARRAYS = {"seg_indptr": np.int64, "inv_docs": np.uint16, "inv_weights": np.uint8, "term_scale": np.float32,
          "column_terms": np.uint16, "columns": np.uint8}


def blocks_for(n_docs: int) -> int:
    return max(1, -(-n_docs >> BLOCK_BITS))


def _level_columns(terms, docs, levels, n_docs: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(column_terms uint16, columns (len, N) uint8): document-ordered levels of the terms held by at
    least COLUMN_SHARE of the documents."""
    counts = np.bincount(terms, minlength=vocab_size)
    column_terms = np.flatnonzero(counts >= max(1.0, COLUMN_SHARE * n_docs)).astype(np.uint16)
    columns = np.zeros((len(column_terms), n_docs), dtype=np.uint8)
    row = np.full(vocab_size, -1, dtype=np.int32)
    row[column_terms] = np.arange(len(column_terms))
    held = row[terms]
    in_column = held >= 0
    columns[held[in_column], docs[in_column]] = levels[in_column]
    return column_terms, columns


class SparseIndex:
    def __init__(self, ids: np.ndarray, vocab_size: int, top_k: int | None,
                 seg_indptr, inv_docs, inv_weights, term_scale, column_terms, columns):
        self.ids, self.vocab_size, self.top_k = ids, int(vocab_size), top_k
        self.n_blocks = blocks_for(len(ids))
        self.seg_indptr, self.inv_docs, self.inv_weights, self.term_scale = seg_indptr, inv_docs, inv_weights, term_scale
        self.column_terms, self.columns = column_terms, columns
        self._column_of = dict(zip(column_terms.tolist(), range(len(column_terms))))
        self._local = threading.local()  # per-thread score buffer: searches may run concurrently
        self._thresholds: dict = {}      # Salience.key() -> (N,) float32, see salient_documents

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, vectors, ids: list[str], top_k: int | None = None, vocab_size: int | None = None) -> "SparseIndex":
        """Index `vectors` ((N, V) dense array or scipy sparse, non-negative) keeping each row's top_k terms."""
        m = top_k_sparsify(vectors, top_k)
        n, v = m.shape
        vocab_size = int(vocab_size or v)
        if len(ids) != n:
            raise ValueError(f"{len(ids)} ids for {n} vectors")
        if v > vocab_size or vocab_size > MAX_VOCAB:
            raise ValueError(f"index limits: |V| <= {MAX_VOCAB} (got V={v})")
        terms, weights = m.indices.astype(np.uint16), m.data
        docs = np.repeat(np.arange(n, dtype=np.int64), np.diff(m.indptr))
        del m
        term_scale = np.zeros(vocab_size, dtype=np.float32)
        np.maximum.at(term_scale, terms, weights)
        term_scale /= LEVELS
        # a stored weight never rounds to 0: the document keeps every term it was indexed with
        levels = np.clip(np.rint(weights / term_scale[terms]), 1, LEVELS).astype(np.uint8)
        del weights
        n_blocks = blocks_for(n)
        # group by (term, block), heaviest first: three stable O(nnz) radix sorts on 8/16-bit keys
        order = np.argsort(~levels, kind="stable")
        if n_blocks > 1:
            order = order[np.argsort((docs[order] >> BLOCK_BITS).astype(np.uint16), kind="stable")]
        order = order[np.argsort(terms[order], kind="stable")]
        segment = terms.astype(np.int64) * n_blocks + (docs >> BLOCK_BITS)
        seg_indptr = np.zeros(vocab_size * n_blocks + 1, dtype=np.int64)
        np.cumsum(np.bincount(segment, minlength=vocab_size * n_blocks), out=seg_indptr[1:])
        inv_docs = (docs[order] & ((1 << BLOCK_BITS) - 1)).astype(np.uint16)
        column_terms, columns = _level_columns(terms, docs, levels, n, vocab_size)
        return cls(np.asarray(list(ids), dtype=str), vocab_size, top_k, seg_indptr, inv_docs, levels[order], term_scale,
                   column_terms, columns)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nnz(self) -> int:
        return len(self.inv_docs)

    def memory_bytes(self) -> int:
        """Bytes held by the index arrays (postings, offsets, term scales, level columns and ids)."""
        return int(sum(getattr(self, name).nbytes for name in ("ids", *ARRAYS)))

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """(doc indices int64, weights float32) of one term, impact ordered inside each block."""
        first = term * self.n_blocks
        bounds = self.seg_indptr[first:first + self.n_blocks + 1]
        docs = self.inv_docs[bounds[0]:bounds[-1]].astype(np.int64)
        for b in range(1, self.n_blocks):
            docs[bounds[b] - bounds[0]:bounds[b + 1] - bounds[0]] += b << BLOCK_BITS
        return docs, np.multiply(self.inv_weights[bounds[0]:bounds[-1]], self.term_scale[term], dtype=np.float32)

    def matrix(self) -> sp.csr_matrix:
        """The stored (top-k, 8-bit) document vectors as a float32 (N, V) CSR matrix."""
        segment_term = np.repeat(np.arange(self.vocab_size * self.n_blocks) // self.n_blocks, np.diff(self.seg_indptr))
        segment_block = np.repeat(np.arange(self.vocab_size * self.n_blocks) % self.n_blocks, np.diff(self.seg_indptr))
        docs = self.inv_docs.astype(np.int64) + (segment_block << BLOCK_BITS)
        weights = self.inv_weights * self.term_scale[segment_term]
        return sp.csr_matrix((weights.astype(np.float32), (docs, segment_term)), shape=(len(self), self.vocab_size))

    def score_matrix(self, queries, query_top_k: int | None = None) -> np.ndarray:
        """Dense (n_queries, N) float32 scores of many queries at once (for evaluation metrics)."""
        q = top_k_sparsify(queries, query_top_k)
        if q.shape[1] != self.vocab_size:
            raise ValueError(f"queries have {q.shape[1]} terms, index has {self.vocab_size}")
        return np.asarray((q @ self.matrix().T).todense(), dtype=np.float32)

    def holders(self, term: int) -> int:
        """How many documents hold `term` (its postings' length)."""
        if not 0 <= term < self.vocab_size:
            return 0
        return int(self.seg_indptr[(term + 1) * self.n_blocks] - self.seg_indptr[term * self.n_blocks])

    def _salience_thresholds(self, salience: Salience) -> np.ndarray:
        """(N,) float32: each document's `top`-th heaviest counted weight (0 when it has fewer counted terms),
        computed once per Salience key from the stored vectors."""
        key = salience.key()
        found = self._thresholds.get(key)
        if found is None:
            n, top = len(self), salience.top
            found = np.zeros(n, dtype=np.float32)
            if top is not None and top > 0 and n:
                m = self.matrix()
                rows = np.repeat(np.arange(n), np.diff(m.indptr))
                data = m.data
                if salience.counted is not None:
                    keep = np.asarray(salience.counted, dtype=bool)[m.indices]
                    rows, data = rows[keep], data[keep]
                order = np.lexsort((-data, rows))
                first = np.searchsorted(rows[order], np.arange(n))
                counts = np.bincount(rows, minlength=n)
                full = counts >= top
                found[full] = data[order][first[full] + top - 1]
            elif top is not None:   # top <= 0: nothing is salient
                found[:] = np.inf
            self._thresholds[key] = found
        return found

    def salient_documents(self, term: int, salience: Salience | None = None) -> np.ndarray:
        """Documents (int64, postings order) where `term` is salient (Salience; None: the default rule)."""
        salience = Salience() if salience is None else salience
        docs, weights = self.postings(int(term))
        if not len(docs):
            return docs
        opposite = salience.opposites.get(int(term))
        rank_rule = salience if opposite is None else replace(salience, top=salience.opposite_top)
        keep = weights >= self._salience_thresholds(rank_rule)[docs]
        if opposite is not None:
            for rival in (opposite, *salience.rivals.get(int(term), ())):
                other_docs, other_weights = self.postings(int(rival))
                other = self._buffer("opposite", np.float32, 0)
                other[other_docs] = other_weights
                try:
                    keep &= weights > other[docs]
                finally:
                    other[other_docs] = 0.0
        return docs[keep]

    # ------------------------------------------------------------------ searching
    def search(self, query, k: int = 10, query_top_k: int | None = None, negatives=(),
               negative_weight: float | None = None, explain: int = 5, exhaustive: bool = False,
               salience: Salience | None = None, excluded_documents=()) -> list[Hit]:
        """Top-k documents by dot product with `query`, each with its `explain` strongest (term, q_w*d_w).

        query: {term_id: weight}, a dense (V,) array, a (1, V) sparse row or (term_ids, weights).
        negatives: term ids that exclude the documents where they are salient (negative_weight=None;
        `salience`, default Salience(): among the document's 8 heaviest terms) or that penalise every
        document holding them by negative_weight * d_w. Only documents holding at least one positive query
        term can be hits. excluded_documents: documents excluded as well (e.g. where a negative term shows in
        one of their parts: engine/inference/motion_parts.py).
        exhaustive: score every posting of the query's terms (the reference the early stop must match).
        """
        if len(excluded_documents) and negative_weight is not None:
            raise ValueError("excluded_documents excludes; it does not combine with negative_weight's penalty")
        terms, weights = query_terms(query, self.vocab_size, query_top_k)
        negatives = np.fromiter((int(t) for t in negatives), dtype=np.int64)
        if k <= 0 or terms.size == 0:
            return []
        excluded = []
        if negatives.size and negative_weight is None:
            excluded = [d for d in (self.salient_documents(int(t), salience) for t in negatives) if len(d)]
            negatives = np.zeros(0, dtype=np.int64)   # excluding: the documents are known, the terms score nothing
        if len(excluded_documents):
            excluded.append(np.asarray(excluded_documents, dtype=np.int64))
        if terms.size == 1 and negatives.size == 0 and not excluded and not exhaustive:
            top, scores = self._one_term(int(terms[0]), float(weights[0]), k)
            return [Hit(str(self.ids[d]), d, s, [(int(terms[0]), s)] if explain > 0 else [])
                    for d, s in zip(top.tolist(), scores.tolist())]
        if negatives.size == 0 and not excluded and terms.size <= EARLY_STOP_MAX_TERMS and not exhaustive:
            settled = self._early_termination(terms, weights, k)
            if settled is not None:
                return self._hit_list(*settled, terms, explain)
        postings = [self.postings(int(t)) for t in terms]
        if excluded:   # one list of the excluded documents (their weights are not used)
            negative_postings = [(distinct(np.concatenate(excluded)), None)]
        else:          # decoded once, used three times
            negative_postings = [self.postings(int(t)) for t in negatives]
        top, scores = self._accumulate_and_select(postings, weights, negative_postings, negative_weight, k)
        return self._hits(top, scores, terms, weights, postings, negatives, negative_postings, negative_weight,
                          explain)

    def _one_term(self, term: int, weight: float, k: int):
        """Impact ordered blocks: the answer is among the first k postings of each block, so only those
        k x blocks postings are read."""
        first = term * self.n_blocks
        bounds = self.seg_indptr[first:first + self.n_blocks + 1]
        docs = np.concatenate([self.inv_docs[a:min(a + k, b)].astype(np.int64) + (i << BLOCK_BITS)
                               for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))])
        levels = np.concatenate([self.inv_weights[a:min(a + k, b)] for a, b in zip(bounds[:-1], bounds[1:])])
        scores = np.multiply(levels, np.float32(self.term_scale[term] * weight), dtype=np.float32)
        best = np.argsort(-scores, kind="stable")[:k]
        return docs[best], scores[best]

    def _early_termination(self, terms, weights, k):
        """Exact top k reading each term's postings only as far as the threshold algorithm needs:
        (docs, scores, contributions (k, terms): query weight x document weight), or None when the bounds
        do not settle cheaply (the caller then scores every posting)."""
        lists = []
        for t in terms.tolist():
            bounds = self.seg_indptr[t * self.n_blocks:(t + 1) * self.n_blocks + 1].tolist()
            lists.append([(b, self.inv_docs[s:e], self.inv_weights[s:e])
                          for b, (s, e) in enumerate(zip(bounds[:-1], bounds[1:])) if e > s])
        units = [(self.term_scale[t], w) for t, w in zip(terms.tolist(), weights)]
        columns = [self.columns[self._column_of[t]] if t in self._column_of else None for t in terms.tolist()]
        settled = top_k(lists, units, columns, k, self._buffer("marks", bool, False), self._buffer("rank", np.int32, -1))
        return None if settled is None else settled[:3]

    def _buffer(self, name: str = "scores", dtype=np.float32, fill=0, size: int | None = None) -> np.ndarray:
        """A per-thread array of `size` (default N) entries, equal to `fill` between calls (each user
        restores it)."""
        size = len(self) if size is None else size
        buf = getattr(self._local, name, None)
        if buf is None or len(buf) != size:
            buf = np.full(size, fill, dtype=dtype)
            setattr(self._local, name, buf)
        return buf

    def _accumulate_and_select(self, postings, weights, negative_postings, negative_weight, k):
        scores = self._buffer()  # all zeros between calls
        dense = sum(len(d) for d, _ in postings) >= len(self) // DENSE_REGIME_FRACTION
        try:
            for (docs, dw), w in zip(postings, weights):
                np.add.at(scores, docs, dw * w)
            if dense:
                # one O(N) partition beats deduplicating that many postings
                self._apply_negatives(scores, negative_postings, negative_weight)
                kth = np.partition(scores, len(scores) - k)[len(scores) - k] if len(scores) > k else 0
                # a positive k-th score: the k best are among the few at or above it; otherwise every
                # document holding a positive term is a candidate (negatives may have lowered it below 0)
                candidates = np.flatnonzero(scores >= kth) if kth > 0 else distinct(np.concatenate([d for d, _ in postings]))
            else:
                self._apply_negatives(scores, negative_postings, negative_weight)
                candidates = postings[0][0] if len(postings) == 1 else np.concatenate([d for d, _ in postings])
                # a document appears at most once per query term, so the best k*|terms| entries of the
                # (duplicated) candidate list contain the best k distinct documents
                m = min(len(candidates), k * len(postings))
                if m < len(candidates):  # keep all ties of the m-th score: the smaller document wins them
                    touched = scores[candidates]
                    candidates = candidates[touched >= np.partition(touched, len(touched) - m)[len(touched) - m]]
                candidates = distinct(candidates)
            return self._order(candidates, scores, k)
        finally:  # restore the all-zero buffer: one fill when the query wrote a large part of it
            if dense:
                scores.fill(0.0)
            else:
                for docs, _ in postings:
                    scores[docs] = 0.0
                for docs, _ in negative_postings:
                    scores[docs] = 0.0

    @staticmethod
    def _apply_negatives(scores, negative_postings, negative_weight) -> None:
        for docs, dw in negative_postings:
            if negative_weight is None:
                scores[docs] = -np.inf
            else:
                scores[docs] -= dw * np.float32(negative_weight)

    @staticmethod
    def _order(top, scores, k):
        """The k best of the candidate documents `top`, best first, with their scores (excluded dropped)."""
        top = top[np.isfinite(scores[top])].astype(np.int64)
        top = top[ordered_top_k(top, scores[top], k)]
        return top, scores[top].copy()

    def _hits(self, top, scores, terms, weights, postings, negatives, negative_postings, negative_weight,
              explain) -> list[Hit]:
        """Each hit's strongest contributions, read from the term's level column where it has one, else
        from the postings the query already decoded."""
        contrib = np.zeros((len(top), len(terms) + len(negatives)), dtype=np.float32)
        if explain > 0 and len(top):
            weighted = list(zip(terms.tolist(), weights.tolist(), postings))
            if negative_weight is not None:
                weighted += [(t, -float(negative_weight), p) for t, p in zip(negatives.tolist(), negative_postings)]
            slot = self._buffer("slots", np.int32, -1)   # hit rank of each document, -1 elsewhere
            slot[top] = np.arange(len(top))
            try:
                for j, (term, w, (docs, dw)) in enumerate(weighted):
                    if term in self._column_of:   # the same float32(level * scale) * w as the postings give
                        levels = self.columns[self._column_of[term]][top]
                        contrib[:, j] = np.multiply(levels, self.term_scale[term], dtype=np.float32) * w
                        continue
                    rank = slot[docs]
                    found = np.flatnonzero(rank >= 0)
                    contrib[rank[found], j] = w * dw[found]
            finally:
                slot[top] = -1
        return self._hit_list(top, scores, contrib, np.concatenate([terms, negatives]), explain)

    def _hit_list(self, top, scores, contrib, all_terms, explain) -> list[Hit]:
        """Hits with their `explain` strongest contributions (contrib: (hits, terms), column j for all_terms[j]).
        One sort for all hits (zeros sort last and are dropped): per-hit numpy calls cost more than the
        search itself for keyword queries."""
        strongest = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :max(explain, 0)].tolist()
        terms, rows, ids = all_terms.tolist(), contrib.tolist(), self.ids[top].tolist()
        return [Hit(ids[i], d, float(s), [(int(terms[j]), rows[i][j]) for j in strongest[i] if rows[i][j] != 0])
                for i, (d, s) in enumerate(zip(top.tolist(), scores.tolist()))]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path, fingerprint: str) -> Path:
        arrays = {"ids": self.ids, **{n: getattr(self, n) for n in ARRAYS}}
        return save_arrays(directory, KIND, arrays, {"vocab_size": self.vocab_size, "top_k": self.top_k},
                           fingerprint)

    @classmethod
    def load(cls, directory: str | Path, fingerprint: str | None, mmap: bool = False) -> "SparseIndex | None":
        """The saved index, or None when absent or built from another fingerprint (caller rebuilds)."""
        loaded = load_arrays(directory, KIND, fingerprint, mmap)
        if loaded is None:
            return None
        a, meta = loaded
        if set(a) != set(ARRAYS) | {"ids"} or a["ids"].dtype.kind != "U" \
                or any(a[n].dtype != dtype for n, dtype in ARRAYS.items()):
            raise InputError(directory, "index arrays missing or of the wrong type")
        v, n, nnz = int(meta.get("vocab_size", -1)), len(a["ids"]), len(a["inv_docs"])
        ptr = a["seg_indptr"]
        consistent = (0 < v <= MAX_VOCAB and ptr.shape == (v * blocks_for(n) + 1,) and a["term_scale"].shape == (v,)
                      and len(a["inv_weights"]) == nnz and ptr[0] == 0 and ptr[-1] == nnz
                      and bool(np.all(np.diff(ptr) >= 0)) and bool(np.isfinite(a["term_scale"]).all()))
        c = a["column_terms"]
        consistent = consistent and a["columns"].shape == (len(c), n) and bool(np.all(np.diff(c.astype(np.int64)) > 0)) \
            and (len(c) == 0 or int(c[-1]) < v)
        if consistent and nnz:  # offsets in the last, partial block must stay inside N
            b = blocks_for(n)
            last_block = [a["inv_docs"][start:end] for start, end in zip(ptr[b - 1::b], ptr[b::b])]
            consistent = int(max((int(x.max()) for x in last_block if x.size), default=0)) < n - ((b - 1) << BLOCK_BITS)
        if not consistent:
            raise InputError(directory, "index arrays are inconsistent (corrupt or partially written)")
        return cls(a["ids"], v, meta.get("top_k"), *(a[name] for name in ARRAYS))
