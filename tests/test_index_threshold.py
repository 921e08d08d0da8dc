"""Early termination (engine/index/threshold.py) returns exactly what scoring every posting returns."""
import numpy as np
import pytest
import scipy.sparse as sp

import engine.index.threshold as threshold
from engine.index import SparseIndex

V = 60


def _tied_vectors(n, seed):
    """Few distinct weights, so many documents tie and the tie rule (smaller document first) matters."""
    x = sp.random(n, V, density=0.08, random_state=seed, format="csr", dtype=np.float32)
    x.data = np.ceil(x.data * 4).astype(np.float32)
    return x


@pytest.fixture
def reads(monkeypatch):
    """Start from 2-posting prefixes (so prefixes must grow) and record how much each block read (None: it
    gave up and the query scored every posting)."""
    monkeypatch.setattr(threshold, "FIRST_PREFIX", 2)
    record = []
    original = threshold.block_top_k

    def recording(docs, levels, units, k, *buffers):
        out = original(docs, levels, units, k, *buffers)
        record.append((None if out is None else out[3], sum(len(d) for d in docs), 8 * k * len(docs)))
        return out
    monkeypatch.setattr("engine.index.inverted.block_top_k", recording)
    return record


@pytest.mark.parametrize("n", [3_000, 70_000])
def test_early_termination_equals_exhaustive_scoring(n, reads):
    idx = SparseIndex.build(_tied_vectors(n, seed=n), [f"m{i}" for i in range(n)])
    rng = np.random.default_rng(0)
    for trial in range(40):
        terms = rng.choice(V, size=rng.integers(2, 6), replace=False)
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
    assert any(first < read < total for read, total, first in settled)     # after growing its prefixes
    assert len(settled) < len(reads)                                       # and fell back when it had to


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
