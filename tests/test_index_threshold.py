"""Early termination (engine/index/threshold.py) returns exactly what scoring every posting returns."""
import numpy as np
import pytest
import scipy.sparse as sp

import engine.index.threshold as threshold
from engine.index import SparseIndex

V = 60


def _tied_vectors(n, seed):
    """Few distinct weights, so many documents tie and the tie rule (smaller document first) matters; half
    the rows are noisy copies of 12 prototypes, so terms co-occur as words of one motion do; terms 0-2 are
    held by 60-100% of the documents (level columns: random access by gather)."""
    rng = np.random.default_rng(seed)
    x = sp.random(n, V, density=0.08, random_state=seed, format="csr", dtype=np.float32).toarray()
    prototypes = sp.random(12, V, density=0.15, random_state=seed + 1, dtype=np.float32).toarray()
    copies = rng.random(n) < 0.5
    n_copies = int(copies.sum())
    x[copies] = prototypes[rng.integers(0, 12, size=n_copies)] * rng.choice([0.8, 1.0], size=(n_copies, V))
    for term, share in zip(range(3), (1.0, 0.8, 0.6)):
        x[:, term] = rng.choice([0.25, 0.5, 1.0], size=n) * (rng.random(n) < share)
    return sp.csr_matrix(np.ceil(x * 4).astype(np.float32))


@pytest.fixture
def reads(monkeypatch):
    """Start from 2k-posting prefixes (so later rounds are needed) and record, per query, the postings it
    read (None: it did not settle and scored every posting), held and would read first."""
    monkeypatch.setattr(threshold, "FIRST_DEPTH", 2)
    record = []
    original = threshold.top_k

    def recording(lists, units, columns, k, *buffers):
        out = original(lists, units, columns, k, *buffers)
        total = sum(len(docs) for term in lists for _, docs, _ in term)
        first = sum(min(2 * k, len(docs)) for term in lists for _, docs, _ in term)
        record.append((None if out is None else out[3], total, first))
        return out
    monkeypatch.setattr("engine.index.inverted.top_k", recording)
    return record


@pytest.mark.parametrize("n", [3_000, 70_000])
def test_early_termination_equals_exhaustive_scoring(n, reads):
    vectors = _tied_vectors(n, seed=n)
    idx = SparseIndex.build(vectors, [f"m{i}" for i in range(n)])
    assert idx.column_terms.tolist() == [0, 1, 2]   # the common terms are looked up by column
    rng = np.random.default_rng(0)
    for trial in range(40):
        words = vectors[int(rng.integers(n))].indices if trial % 4 < 2 else np.arange(V)   # one motion's, or any
        terms = rng.choice(words, size=min(len(words), rng.integers(2, 6)), replace=False)
        keyword = trial % 2 == 0
        query = {int(t): 1.0 if keyword else float(rng.uniform(0.2, 3)) for t in terms}
        k = [1, 3, 10, 50][trial % 4]
        fast = idx.search(query, k=k, explain=10)
        slow = idx.search(query, k=k, explain=10, exhaustive=True)
        assert [h.index for h in fast] == [h.index for h in slow]
        assert [h.score for h in fast] == [h.score for h in slow]          # bit for bit
        assert [h.terms for h in fast] == [h.terms for h in slow]          # same explanations
    settled = [(read, total, first) for read, total, first in reads if read is not None]
    assert any(read < total for read, total, _ in settled)                 # it did stop early
    assert any(first < read < total for read, total, first in settled)     # after a second, deeper round
    assert len(settled) < len(reads)                                       # and scored everything when it had to


def test_ties_go_to_the_smaller_document():
    x = sp.csr_matrix(np.ones((50, 4), dtype=np.float32))
    idx = SparseIndex.build(x, [str(i) for i in range(50)])
    assert [h.index for h in idx.search({0: 1.0, 1: 1.0}, k=5)] == [0, 1, 2, 3, 4]
    assert [h.index for h in idx.search({0: 1.0, 1: 1.0}, k=5, exhaustive=True)] == [0, 1, 2, 3, 4]


def test_fewer_matches_than_k():
    x = sp.csr_matrix(np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3]], dtype=np.float32))
    idx = SparseIndex.build(x, ["a", "b", "c"])
    hits = idx.search({0: 1.0, 1: 1.0}, k=10)
    assert [h.id for h in hits] == ["b", "a"]


def test_terms_absent_from_the_index():
    x = sp.csr_matrix(np.array([[1, 0, 0], [0, 2, 0], [3, 0, 0]], dtype=np.float32))
    idx = SparseIndex.build(x, ["a", "b", "c"], vocab_size=5)
    assert [h.id for h in idx.search({0: 1.0, 4: 1.0}, k=2)] == ["c", "a"]
    assert idx.search({3: 1.0, 4: 1.0}, k=2) == []
