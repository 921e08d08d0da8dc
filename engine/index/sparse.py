"""Sparse lexical vectors: validation, top-k sparsification and query normalisation.

Lexical vectors are non-negative rows over the vocabulary (|V| = 30,522 for BERT). Top-k
sparsification (SPLADE / Lyu et al. sec. 4.3) keeps each row's k largest weights and zeroes the rest;
it is applied at index build time (documents) and at query time (queries) with no retraining.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DENSE_CHUNK_ROWS = 4096  # dense input is sparsified in slabs so (N, |V|) float32 never has to exist twice


def top_k_sparsify(vectors, k: int | None = None) -> sp.csr_matrix:
    """(N, V) dense array or scipy sparse matrix -> float32 CSR keeping each row's k largest weights.

    Zeros are dropped; k=None keeps every non-zero. Raises ValueError on NaN/inf or negative weights.
    Ties at the k-th weight are broken by term id (lower id kept) so the result is deterministic.
    """
    if sp.issparse(vectors):
        m = sp.csr_matrix(vectors, dtype=np.float32, copy=True)
        m.sum_duplicates()
        m.eliminate_zeros()
    else:
        dense = np.asarray(vectors)
        if dense.ndim != 2:
            raise ValueError(f"expected a 2-D (N, V) array, got shape {dense.shape}")
        m = sp.vstack([_dense_slab_to_csr(dense[s:s + DENSE_CHUNK_ROWS], k)
                       for s in range(0, max(len(dense), 1), DENSE_CHUNK_ROWS)], format="csr")
    if m.data.size and (not np.isfinite(m.data).all() or m.data.min() < 0):
        raise ValueError("lexical vectors must be finite and non-negative")
    if k is not None:
        m = _csr_top_k(m, k)
    m.sort_indices()
    return m


def _dense_slab_to_csr(slab: np.ndarray, k: int | None) -> sp.csr_matrix:
    slab = np.asarray(slab, dtype=np.float32)
    if slab.size and (not np.isfinite(slab).all() or slab.min() < 0):
        raise ValueError("lexical vectors must be finite and non-negative")
    if k is not None and k < slab.shape[1]:
        # zero all but the k largest per row; argpartition is O(V) per row
        keep = np.argpartition(-slab, k - 1, axis=1)[:, :k] if k > 0 else np.zeros((len(slab), 0), int)
        mask = np.zeros(slab.shape, dtype=bool)
        np.put_along_axis(mask, keep, True, axis=1)
        slab = np.where(mask, slab, 0.0)
    return sp.csr_matrix(slab)


def _csr_top_k(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    lengths = np.diff(m.indptr)
    if lengths.max(initial=0) <= k:
        return m
    rows = np.repeat(np.arange(m.shape[0]), lengths)
    # order entries by row, then weight descending, then term id: position in row = rank of the weight
    order = np.lexsort((m.indices, -m.data, rows))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - m.indptr[rows[order]]
    keep = rank < k
    out = sp.csr_matrix((m.data[keep], m.indices[keep], np.concatenate([[0], np.cumsum(np.minimum(lengths, k))])),
                        shape=m.shape)
    return out


def query_terms(query, vocab_size: int, top_k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Normalise a query to (term_ids int64, weights float32) with positive weights, largest first.

    Accepts {term_id: weight}, a dense (V,) array, a (1, V) scipy sparse row, or (term_ids, weights).
    `top_k` keeps only the k heaviest query terms (query-time sparsification).
    """
    if isinstance(query, dict):
        terms = np.fromiter(query.keys(), dtype=np.int64, count=len(query))
        weights = np.fromiter(query.values(), dtype=np.float32, count=len(query))
    elif isinstance(query, tuple) and len(query) == 2:
        terms, weights = np.asarray(query[0], dtype=np.int64), np.asarray(query[1], dtype=np.float32)
    elif sp.issparse(query):
        row = sp.csr_matrix(query)
        if row.shape != (1, vocab_size):
            raise ValueError(f"sparse query must be (1, {vocab_size}), got {row.shape}")
        row.sum_duplicates()
        terms, weights = row.indices.astype(np.int64), row.data.astype(np.float32)
    else:
        dense = np.asarray(query, dtype=np.float32).reshape(-1)
        if dense.shape != (vocab_size,):
            raise ValueError(f"dense query must have {vocab_size} entries, got {dense.shape}")
        terms = np.flatnonzero(dense)
        weights = dense[terms]
    if terms.shape != weights.shape:
        raise ValueError("query term ids and weights differ in length")
    if terms.size and (terms.min() < 0 or terms.max() >= vocab_size):
        raise ValueError(f"query term ids must lie in [0, {vocab_size})")
    if not np.isfinite(weights).all():
        raise ValueError("query weights must be finite")
    keep = weights > 0
    terms, weights = terms[keep], weights[keep]
    order = np.argsort(-weights, kind="stable")
    if top_k is not None:
        order = order[:top_k]
    return terms[order], weights[order]
