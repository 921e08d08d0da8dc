"""SparseIndex and DenseIndex against brute-force dot products."""
import numpy as np
import pytest
import scipy.sparse as sp

from engine.errors import InputError
from engine.index import ANY_HOLDER, Salience, SparseIndex, DenseIndex, top_k_sparsify, query_terms

V = 500


def _vectors(n=400, density=0.06, seed=0):
    return sp.random(n, V, density=density, random_state=seed, format="csr", dtype=np.float32) * 3


def _brute(index, q):
    return index.matrix() @ q


def _query(seed, n_terms=12):
    rng = np.random.default_rng(seed)
    q = np.zeros(V, np.float32)
    q[rng.choice(V, n_terms, replace=False)] = rng.uniform(0.1, 2, n_terms)
    return q


def test_top_k_sparsify_keeps_largest():
    x = _vectors()
    dense = x.toarray()
    kept = top_k_sparsify(x, 5).toarray()
    kept_dense_input = top_k_sparsify(dense, 5).toarray()
    np.testing.assert_array_equal(kept, kept_dense_input)
    for row, out in zip(dense, kept):
        k = min(5, np.count_nonzero(row))
        assert np.count_nonzero(out) == k
        np.testing.assert_allclose(np.sort(out[out > 0]), np.sort(row)[::-1][:k][::-1])
    with pytest.raises(ValueError):
        top_k_sparsify(-dense, 5)


def test_storage_types_and_memory():
    idx = SparseIndex.build(_vectors(), [f"m{i}" for i in range(400)], top_k=8)
    assert idx.inv_docs.dtype == np.uint16 and idx.inv_weights.dtype == np.uint8
    nnz = idx.nnz
    assert nnz <= 8 * 400
    fixed = idx.ids.nbytes + 8 * (V + 1) + 4 * V   # one block: one offset per term, one scale per term
    assert idx.memory_bytes() == fixed + 3 * nnz


def test_eight_bit_weights_stay_within_half_a_level():
    x = top_k_sparsify(_vectors(), 8)
    idx = SparseIndex.build(x, [str(i) for i in range(400)])
    stored = idx.matrix().toarray()
    step = x.max(axis=0).toarray().ravel() / 255    # each term's level: its largest weight / 255
    err = np.abs(stored - x.toarray())
    assert (err <= step / 2 + 1e-6).all()
    assert ((stored > 0) == (x.toarray() > 0)).all()   # no stored weight rounds away


def test_documents_beyond_one_block(tmp_path):
    """70,000 documents span two 65,536-document blocks of uint16 offsets."""
    n = 70_000
    x = sp.random(n, V, density=0.01, random_state=1, format="csr", dtype=np.float32)
    idx = SparseIndex.build(x, [f"m{i}" for i in range(n)])
    assert idx.n_blocks == 2
    assert abs(idx.matrix() - x).max() <= x.max() / 255
    term = int(np.argmax(np.asarray((x > 0).sum(axis=0)).ravel()))
    docs, _ = idx.postings(term)
    assert sorted(docs.tolist()) == sorted(x[:, term].nonzero()[0].tolist()) and docs.max() >= 1 << 16
    col = idx.matrix()[:, term].toarray().ravel()
    np.testing.assert_allclose([h.score for h in idx.search({term: 1.0}, k=20)], np.sort(col)[::-1][:20], rtol=1e-6)
    q = _query(5, n_terms=6)
    hits = idx.search(q, k=10, explain=10)
    expected = idx.matrix() @ q
    np.testing.assert_allclose([h.score for h in hits], np.sort(expected)[::-1][:10], rtol=1e-5)
    for h in hits:
        assert sum(c for _, c in h.terms) == pytest.approx(h.score, rel=1e-5)
    idx.save(tmp_path / "ix", "fp")
    back = SparseIndex.load(tmp_path / "ix", "fp")
    assert [h.index for h in back.search(q, k=10)] == [h.index for h in hits]


@pytest.fixture(params=["postings", "scan"])
def regime(request, monkeypatch):
    """Run a test with candidates taken from the postings (threshold N) and from a scan of all N (threshold 0)."""
    import engine.index.inverted as inverted
    monkeypatch.setattr(inverted, "DENSE_REGIME_FRACTION", 1 if request.param == "postings" else 10 ** 9)
    return request.param


@pytest.mark.parametrize("seed", range(4))
def test_search_equals_brute_force(seed, regime):
    idx = SparseIndex.build(_vectors(seed=seed), [f"m{i}" for i in range(400)], top_k=16)
    q = _query(seed)
    expected = _brute(idx, q)
    assert sum(len(idx.postings(t)[0]) for t in np.flatnonzero(q)) < len(idx)  # postings regime reachable
    hits = idx.search(q, k=10, explain=100)
    want = np.argsort(-expected, kind="stable")[:10]
    np.testing.assert_allclose([h.score for h in hits], expected[want], rtol=1e-5)
    for h in hits:
        assert h.id == f"m{h.index}"
        assert sum(c for _, c in h.terms) == pytest.approx(h.score, rel=1e-5)  # explanation adds up
        assert all(q[t] > 0 for t, _ in h.terms)
    # the strongest contributions come first
    contribs = [c for _, c in hits[0].terms]
    assert contribs == sorted(contribs, reverse=True)


def test_single_term_and_query_top_k():
    idx = SparseIndex.build(_vectors(), [str(i) for i in range(400)])
    term = max(range(V), key=lambda t: len(idx.postings(t)[0]))
    hits = idx.search({term: 2.0}, k=7)
    col = idx.matrix()[:, term].toarray().ravel() * 2
    np.testing.assert_allclose([h.score for h in hits], np.sort(col)[::-1][:7], rtol=1e-6)
    q = _query(9, n_terms=20)
    terms, weights = query_terms(q, V, top_k=3)
    q3 = np.zeros(V, np.float32)
    q3[terms] = weights
    assert np.count_nonzero(q3) == 3 and set(terms) <= set(np.flatnonzero(q))
    np.testing.assert_allclose([h.score for h in idx.search(q, k=5, query_top_k=3)],
                               np.sort(_brute(idx, q3))[::-1][:5], rtol=1e-5)


def test_negative_terms_exclude_or_penalise(regime):
    idx = SparseIndex.build(_vectors(), [str(i) for i in range(400)])
    q = _query(3)
    neg = max(range(V), key=lambda t: len(idx.postings(t)[0]))
    holders = set(idx.postings(neg)[0].tolist())
    hits = idx.search(q, k=50, negatives={neg}, salience=ANY_HOLDER)
    assert hits and not holders & {h.index for h in hits}
    penalised = idx.search(q, k=400, negatives={neg}, negative_weight=10.0)
    m = idx.matrix()
    expected = m @ q - 10.0 * m[:, neg].toarray().ravel()
    for h in penalised:
        assert h.score == pytest.approx(expected[h.index], rel=1e-4, abs=1e-4)
    touched = np.flatnonzero(m @ (q > 0).astype(np.float32))
    assert sorted(h.index for h in penalised) == sorted(touched)  # every touched doc, nothing else


def _salient_brute(m: np.ndarray, term: int, top: int, counted=None, opposite=None, rivals=()) -> set[int]:
    """Documents where fewer than `top` counted terms weigh more than `term` (and it outweighs `opposite` and
    `rivals`)."""
    ranked = m if counted is None else np.where(counted[None], m, 0)
    out = set()
    for d in np.flatnonzero(m[:, term] > 0):
        if (ranked[d] > m[d, term]).sum() < top and (opposite is None or m[d, term] > m[d, opposite]) \
                and all(m[d, term] > m[d, r] for r in rivals):
            out.add(int(d))
    return out


def test_negative_terms_exclude_the_documents_where_they_are_salient(regime):
    idx = SparseIndex.build(_vectors(density=0.1), [str(i) for i in range(400)])
    m = idx.matrix().toarray()
    q = _query(4)
    neg = max(range(V), key=lambda t: len(idx.postings(t)[0]))
    salient = _salient_brute(m, neg, 8)
    holders = set(np.flatnonzero(m[:, neg] > 0).tolist())
    assert salient and salient < holders                      # the rule is narrower than "holds the term"
    np.testing.assert_array_equal(np.sort(idx.salient_documents(neg)), sorted(salient))
    hits = idx.search(q, k=400, negatives={neg})
    touched = set(np.flatnonzero(m @ (q > 0).astype(np.float32)).tolist())
    assert {h.index for h in hits} == touched - salient      # exactly the salient documents are left out
    scores = m @ q
    for h in hits:
        assert h.score == pytest.approx(scores[h.index], rel=1e-4, abs=1e-5)
    assert all(t != neg for h in hits for t, _ in h.terms)  # an excluding term earns no score
    # counted terms: only they take ranks, so leaving terms uncounted makes more documents show `neg`
    counted = np.zeros(V, dtype=bool)
    counted[::3] = True
    fewer_ranks = Salience(8, counted)
    wanted = _salient_brute(m, neg, 8, counted)
    np.testing.assert_array_equal(np.sort(idx.salient_documents(neg, fewer_ranks)), sorted(wanted))
    assert wanted >= salient
    # an opposite: `neg` is salient only where it also outweighs it (and its rivals), ranked to opposite_top
    frequent = sorted(range(V), key=lambda t: -len(idx.postings(t)[0]))
    other = frequent[1]
    paired = Salience(8, None, {neg: other, other: neg}, opposite_top=12)
    wanted = _salient_brute(m, neg, 12, None, other)
    np.testing.assert_array_equal(np.sort(idx.salient_documents(neg, paired)), sorted(wanted))
    assert {h.index for h in idx.search(q, k=400, negatives={neg}, salience=paired)} == touched - wanted
    rival = max(frequent[2:30], key=lambda r: len(wanted - _salient_brute(m, neg, 12, None, other, (r,))))
    rivalled = Salience(8, None, {neg: other, other: neg}, {neg: (rival,)}, opposite_top=12)
    fewer = _salient_brute(m, neg, 12, None, other, (rival,))
    np.testing.assert_array_equal(np.sort(idx.salient_documents(neg, rivalled)), sorted(fewer))
    assert fewer < wanted
    # nothing salient: the positive query alone, through the fast paths
    none = Salience(top=0)
    assert [h.index for h in idx.search(q, k=10, negatives={neg}, salience=none)] == \
        [h.index for h in idx.search(q, k=10)]


def test_every_match_showing_the_negative_leaves_no_hit():
    m = sp.csr_matrix(np.array([[2.0, 1.0, 0, 0], [1.0, 3.0, 0, 0], [0, 0, 1.0, 0]], dtype=np.float32))
    idx = SparseIndex.build(m, ["a", "b", "c"])
    assert idx.search({0: 1.0}, k=5, negatives={1}) == []     # both holders of term 0 show term 1
    assert [h.id for h in idx.search({0: 1.0}, k=5, negatives={1}, salience=Salience(top=1))] == ["a"]
    assert idx.holders(0) == 2 and idx.holders(3) == 0


def test_caption_index_for_motion_to_text():
    captions = _vectors(n=50, seed=5)
    idx = SparseIndex.build(captions, [f"caption-{i}" for i in range(50)])
    motion_vec = captions[7].toarray().ravel()  # a motion whose vector matches caption 7 best
    assert idx.search(sp.csr_matrix(motion_vec), k=1)[0].id == "caption-7"
    scores = idx.score_matrix(captions[:3])
    assert scores.shape == (3, 50)
    np.testing.assert_allclose(scores[0], idx.matrix() @ captions[0].toarray().ravel(), rtol=1e-5)


def test_save_load_round_trip(tmp_path):
    idx = SparseIndex.build(_vectors(), [f"m{i}" for i in range(400)], top_k=10)
    idx.save(tmp_path / "ix", fingerprint="lib1+ckpt1")
    assert SparseIndex.load(tmp_path / "ix", "other") is None          # stale: caller rebuilds
    assert SparseIndex.load(tmp_path / "missing", "lib1+ckpt1") is None
    for mmap in (False, True):
        back = SparseIndex.load(tmp_path / "ix", "lib1+ckpt1", mmap=mmap)
        q = _query(1)
        assert [h.index for h in back.search(q)] == [h.index for h in idx.search(q)]
        assert back.top_k == 10 and back.memory_bytes() == idx.memory_bytes()
    np.save(tmp_path / "ix" / "inv_docs.npy", np.arange(3, dtype=np.uint32))  # corrupt one file
    with pytest.raises(InputError, match="inv_docs"):
        SparseIndex.load(tmp_path / "ix", "lib1+ckpt1")


def test_dense_index_baseline(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 32)).astype(np.float32)
    idx = DenseIndex.build(x, [str(i) for i in range(300)])
    q = rng.normal(size=32)
    assert [h.index for h in idx.search(q, k=5)] == list(np.argsort(-(x @ q))[:5])
    idx.save(tmp_path / "d", "fp")
    assert DenseIndex.load(tmp_path / "d", "fp").search(q, k=1)[0].index == int(np.argmax(x @ q))
    assert DenseIndex.load(tmp_path / "d", "nope") is None
    assert idx.memory_bytes() >= x.nbytes
