"""SparseIndex: an inverted index over lexical vectors, scored by dot product, with explanations.

Storage (N documents, |V| < 65,536 terms, nnz stored weights):
  postings   per term t, entries inv_indptr[t]:inv_indptr[t+1] of inv_docs (uint32) / inv_weights
             (float16), *impact ordered* (heaviest first): a one-term query's top-k is its first k postings.
  forward    per document d, fwd_indptr[d]:fwd_indptr[d+1] of fwd_terms (uint16) / fwd_weights (float16):
             explains a hit (which query terms earned its score) and rebuilds the document vector.
  => 10 bytes per stored weight (+ 8 per document and per term for the offsets, + the id strings).

Scoring touches only the postings of the query's terms: np.add.at(scores, docs, q_w * d_w) per
term into a reusable float32 buffer (with numpy 2 this measured faster than fancy-index += and than
one bincount: bench/bench_retrieval.py), then the top k among the touched documents (found by scanning the N scores when the postings
outnumber N/4). Negative terms (`-left`) exclude every document holding them, or, with
`negative_weight=w`, subtract w * d_w from the document's score.

The same class indexes captions for motion-to-text search: build it over caption vectors with
caption ids and query it with a motion vector.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from engine.index.hit import Hit
from engine.index.sparse import query_terms, top_k_sparsify
from engine.index.store import load_arrays, save_arrays
from engine.errors import InputError

MAX_VOCAB = 1 << 16    # term ids are stored as uint16
MAX_DOCS = 1 << 32     # doc ids are stored as uint32
KIND = "motionlex.sparse_index"
DENSE_REGIME_FRACTION = 4  # postings >= N / 4: find touched documents by scanning all N scores


class SparseIndex:
    def __init__(self, ids: np.ndarray, vocab_size: int, top_k: int | None,
                 fwd_indptr, fwd_terms, fwd_weights, inv_indptr, inv_docs, inv_weights):
        self.ids, self.vocab_size, self.top_k = ids, int(vocab_size), top_k
        self.fwd_indptr, self.fwd_terms, self.fwd_weights = fwd_indptr, fwd_terms, fwd_weights
        self.inv_indptr, self.inv_docs, self.inv_weights = inv_indptr, inv_docs, inv_weights
        self._local = threading.local()  # per-thread score buffer: searches may run concurrently

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, vectors, ids: list[str], top_k: int | None = None, vocab_size: int | None = None) -> "SparseIndex":
        """Index `vectors` ((N, V) dense array or scipy sparse, non-negative) keeping each row's top_k terms."""
        m = top_k_sparsify(vectors, top_k)
        n, v = m.shape
        vocab_size = int(vocab_size or v)
        if len(ids) != n:
            raise ValueError(f"{len(ids)} ids for {n} vectors")
        if v > vocab_size or vocab_size > MAX_VOCAB or n >= MAX_DOCS:
            raise ValueError(f"index limits: |V| <= {MAX_VOCAB}, N < {MAX_DOCS} (got V={v}, N={n})")
        m.data[m.data.astype(np.float16) == 0] = 0  # weights that vanish in float16 are not stored
        m.eliminate_zeros()
        fwd_terms = m.indices.astype(np.uint16)
        fwd_weights = m.data.astype(np.float16)
        fwd_indptr = m.indptr.astype(np.int64)
        del m
        # postings: group by term, heaviest first. float16 bits of non-negative numbers sort like the
        # numbers, so two stable uint16 radix sorts (weight descending, then term) do it in O(nnz).
        docs = np.repeat(np.arange(n, dtype=np.uint32), np.diff(fwd_indptr))
        order = np.argsort(~fwd_weights.view(np.uint16), kind="stable")
        order = order[np.argsort(fwd_terms[order], kind="stable")]
        inv_docs, inv_weights = docs[order], fwd_weights[order]
        inv_indptr = np.zeros(vocab_size + 1, dtype=np.int64)
        np.cumsum(np.bincount(fwd_terms, minlength=vocab_size), out=inv_indptr[1:])
        return cls(np.asarray(list(ids), dtype=str), vocab_size, top_k,
                   fwd_indptr, fwd_terms, fwd_weights, inv_indptr, inv_docs, inv_weights)

    def __len__(self) -> int:
        return len(self.ids)

    def memory_bytes(self) -> int:
        """Bytes held by the index arrays (postings, forward store, offsets and ids)."""
        return int(sum(a.nbytes for a in (self.ids, self.fwd_indptr, self.fwd_terms, self.fwd_weights,
                                          self.inv_indptr, self.inv_docs, self.inv_weights)))

    def matrix(self) -> sp.csr_matrix:
        """The stored (after top-k, float16-rounded) document vectors as a float32 (N, V) CSR matrix."""
        return sp.csr_matrix((self.fwd_weights.astype(np.float32), self.fwd_terms.astype(np.int32),
                              self.fwd_indptr), shape=(len(self), self.vocab_size))

    def score_matrix(self, queries, query_top_k: int | None = None) -> np.ndarray:
        """Dense (n_queries, N) float32 scores of many queries at once (for evaluation metrics)."""
        q = top_k_sparsify(queries, query_top_k)
        if q.shape[1] != self.vocab_size:
            raise ValueError(f"queries have {q.shape[1]} terms, index has {self.vocab_size}")
        return np.asarray((q @ self.matrix().T).todense(), dtype=np.float32)

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """(doc indices uint32, weights float16) of one term, heaviest first."""
        a, b = self.inv_indptr[term], self.inv_indptr[term + 1]
        return self.inv_docs[a:b], self.inv_weights[a:b]

    def document_terms(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(term ids uint16, weights float16) stored for one document."""
        a, b = self.fwd_indptr[index], self.fwd_indptr[index + 1]
        return self.fwd_terms[a:b], self.fwd_weights[a:b]

    # ------------------------------------------------------------------ searching
    def search(self, query, k: int = 10, query_top_k: int | None = None, negatives=(),
               negative_weight: float | None = None, explain: int = 5) -> list[Hit]:
        """Top-k documents by dot product with `query`, each with its `explain` strongest (term, q_w*d_w).

        query: {term_id: weight}, a dense (V,) array, a (1, V) sparse row or (term_ids, weights).
        negatives: term ids whose documents are excluded (negative_weight=None) or penalised by
        negative_weight * d_w. Only documents holding at least one positive query term can be hits.
        """
        terms, weights = query_terms(query, self.vocab_size, query_top_k)
        negatives = np.fromiter((int(t) for t in negatives), dtype=np.int64)
        if k <= 0 or terms.size == 0:
            return []
        if terms.size == 1 and negatives.size == 0:
            docs, dw = self.postings(int(terms[0]))   # impact ordered: the answer is the first k postings
            top, scores = docs[:k].astype(np.int64), np.multiply(dw[:k], weights[0], dtype=np.float32)
        else:
            top, scores = self._accumulate_and_select(terms, weights, negatives, negative_weight, k)
        return self._hits(top, scores, terms, weights, negatives, negative_weight, explain)

    def _buffer(self) -> np.ndarray:
        buf = getattr(self._local, "scores", None)
        if buf is None or len(buf) != len(self):
            buf = self._local.scores = np.zeros(len(self), dtype=np.float32)
        return buf

    def _accumulate_and_select(self, terms, weights, negatives, negative_weight, k):
        postings = [self.postings(int(t)) for t in terms]
        scores = self._buffer()  # all zeros between calls
        try:
            for (docs, dw), w in zip(postings, weights):
                np.add.at(scores, docs, np.multiply(dw, w, dtype=np.float32))
            if sum(len(d) for d, _ in postings) >= len(self) // DENSE_REGIME_FRACTION:
                candidates = np.flatnonzero(scores)  # one O(N) pass beats deduplicating that many postings
                self._apply_negatives(scores, negatives, negative_weight)
            else:
                self._apply_negatives(scores, negatives, negative_weight)
                candidates = postings[0][0] if len(postings) == 1 else np.concatenate([d for d, _ in postings])
                # a document appears at most once per query term, so the best k*|terms| entries of the
                # (duplicated) candidate list contain the best k distinct documents
                m = min(len(candidates), k * len(postings))
                if m < len(candidates):
                    candidates = candidates[np.argpartition(-scores[candidates], m - 1)[:m]]
                candidates = np.unique(candidates)
            return self._order(candidates, scores, k)
        finally:  # restore the all-zero buffer touching only what this query wrote
            for docs, _ in postings:
                scores[docs] = 0.0
            for t in negatives:
                scores[self.postings(int(t))[0]] = 0.0

    def _apply_negatives(self, scores, negatives, negative_weight) -> None:
        for t in negatives:
            docs, dw = self.postings(int(t))
            if negative_weight is None:
                scores[docs] = -np.inf
            else:
                scores[docs] -= np.multiply(dw, np.float32(negative_weight), dtype=np.float32)

    @staticmethod
    def _order(top, scores, k):
        """The k best of the candidate documents `top`, best first, with their scores (excluded dropped)."""
        if len(top) > k:
            top = top[np.argpartition(-scores[top], k - 1)[:k]]
        top = top[np.isfinite(scores[top])]
        top = top[np.argsort(-scores[top], kind="stable")[:k]].astype(np.int64)
        return top, scores[top].copy()

    def _hits(self, top, scores, terms, weights, negatives, negative_weight, explain) -> list[Hit]:
        q = np.zeros(self.vocab_size, dtype=np.float32)
        np.add.at(q, terms, weights)
        if negative_weight is not None and negatives.size:
            q[negatives] -= np.float32(negative_weight)
        hits = []
        for d, s in zip(top.tolist(), scores.tolist()):
            dt, dw = self.document_terms(d)
            contrib = q[dt] * dw.astype(np.float32)
            nz = np.flatnonzero(contrib)
            nz = nz[np.argsort(-np.abs(contrib[nz]), kind="stable")[:explain]]
            hits.append(Hit(str(self.ids[d]), d, float(s), [(int(dt[i]), float(contrib[i])) for i in nz]))
        return hits

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path, fingerprint: str) -> Path:
        arrays = {n: getattr(self, n) for n in ("ids", "fwd_indptr", "fwd_terms", "fwd_weights",
                                                 "inv_indptr", "inv_docs", "inv_weights")}
        return save_arrays(directory, KIND, arrays, {"vocab_size": self.vocab_size, "top_k": self.top_k},
                           fingerprint)

    @classmethod
    def load(cls, directory: str | Path, fingerprint: str | None, mmap: bool = False) -> "SparseIndex | None":
        """The saved index, or None when absent or built from another fingerprint (caller rebuilds)."""
        loaded = load_arrays(directory, KIND, fingerprint, mmap)
        if loaded is None:
            return None
        a, meta = loaded
        need = {"fwd_indptr": np.int64, "fwd_terms": np.uint16, "fwd_weights": np.float16,
                "inv_indptr": np.int64, "inv_docs": np.uint32, "inv_weights": np.float16}
        if set(a) != set(need) | {"ids"} or a["ids"].dtype.kind != "U" \
                or any(a[n].dtype != dtype for n, dtype in need.items()):
            raise InputError(directory, "index arrays missing or of the wrong type")
        v, n = int(meta.get("vocab_size", -1)), len(a["ids"])
        nnz = len(a["fwd_terms"])
        consistent = (a["fwd_indptr"].shape == (n + 1,) and a["inv_indptr"].shape == (v + 1,)
                      and len(a["fwd_weights"]) == len(a["inv_docs"]) == len(a["inv_weights"]) == nnz
                      and a["fwd_indptr"][0] == 0 == a["inv_indptr"][0]
                      and a["fwd_indptr"][-1] == nnz == a["inv_indptr"][-1]
                      and (nnz == 0 or (int(a["fwd_terms"].max()) < v and int(a["inv_docs"].max()) < n))
                      and bool(np.all(np.diff(a["fwd_indptr"]) >= 0)) and bool(np.all(np.diff(a["inv_indptr"]) >= 0)))
        if not consistent:
            raise InputError(directory, "index arrays are inconsistent (corrupt or partially written)")
        return cls(a["ids"], v, meta.get("top_k"), a["fwd_indptr"], a["fwd_terms"], a["fwd_weights"],
                   a["inv_indptr"], a["inv_docs"], a["inv_weights"])
