"""Retrieval metrics against hand-ranked tiny score matrices."""
import numpy as np
import pytest

from engine.metrics import (retrieval_all, retrieval_threshold, retrieval_dissimilar, retrieval_batches,
                            retrieval_labels, dissimilar_subset, ranks_of_first_relevant)

SCORES = np.array([[0.9, 0.1, 0.2],
                   [0.5, 0.4, 0.6],
                   [0.3, 0.8, 0.7]])


def test_all_protocol_hand_ranked():
    m = retrieval_all(SCORES)
    # t2m ranks: row0 0, row1 2 (0.5, 0.6 above 0.4), row2 1 (0.8 above 0.7)
    assert m["t2m"]["R@1"] == pytest.approx(100 / 3)
    assert m["t2m"]["R@2"] == pytest.approx(200 / 3)
    assert m["t2m"]["R@3"] == 100.0 and m["t2m"]["MedR"] == 2.0
    # m2t ranks (columns): 0, 1, 0
    assert m["m2t"]["R@1"] == pytest.approx(200 / 3) and m["m2t"]["MedR"] == 1.0


def test_ties_are_averaged_as_tmr():
    ranks = ranks_of_first_relevant(np.ones((4, 4)), np.eye(4, dtype=bool))
    np.testing.assert_allclose(ranks, 1.5)
    m = retrieval_all(np.ones((4, 4)))
    assert m["t2m"]["R@1"] == 0.0 and m["t2m"]["R@2"] == 100.0 and m["t2m"]["MedR"] == 2.5


def test_several_texts_per_motion():
    # texts 0,1 -> motion 0; texts 2,3 -> motion 1
    scores = np.array([[0.9, 0.1], [0.2, 0.3], [0.1, 0.8], [0.7, 0.6]])
    m = retrieval_all(scores, text_to_motion=np.array([0, 0, 1, 1]))
    assert m["t2m"]["R@1"] == 50.0            # texts 1 and 3 rank the wrong motion first
    # motion 0: best own text 0.9 is first; motion 1: best own text 0.8 is first
    assert m["m2t"]["R@1"] == 100.0


def test_threshold_counts_duplicate_captions():
    scores = np.array([[0.2, 0.9, 0.1], [0.8, 0.3, 0.1], [0.1, 0.2, 0.9]])
    text_sim = np.array([[1.0, 1.0, 0.1], [1.0, 1.0, 0.1], [0.1, 0.1, 1.0]])  # texts 0 and 1 identical
    assert retrieval_all(scores)["t2m"]["R@1"] == pytest.approx(100 / 3)
    m = retrieval_threshold(scores, text_sim, threshold=0.95)
    assert m["t2m"]["R@1"] == 100.0 and m["m2t"]["R@1"] == 100.0
    # cos 0.85 is below TMR's rescaled cut (0.95 -> cos 0.90): not counted
    text_sim[0, 1] = text_sim[1, 0] = 0.85
    assert retrieval_threshold(scores, text_sim)["t2m"]["R@1"] == pytest.approx(100 / 3)


def test_dissimilar_subset_picks_one_per_cluster():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16))
    emb = np.repeat(centres, 10, axis=0) + 0.01 * rng.normal(size=(50, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    chosen = dissimilar_subset(sim, size=5)
    assert sorted(set(chosen // 10)) == [0, 1, 2, 3, 4]
    m = retrieval_dissimilar(np.eye(50), sim, size=5)
    assert len(m["indices"]) == 5 and m["t2m"]["R@1"] == 100.0


def test_batches_of_32_average():
    n = 64
    scores = np.eye(n)
    scores[np.arange(32), (np.arange(32) + 1) % 32] = 2.0  # first batch: every text prefers the next motion
    m = retrieval_batches(scores, batch_size=32)
    assert m["t2m"]["n_batches"] == 2
    assert m["t2m"]["R@1"] == 50.0 and m["t2m"]["R@2"] == 100.0
    # scores crossing batches are never seen: motion 32 beats text 31 globally but not in batch 1
    scores[31, 32] = 5.0
    assert retrieval_batches(scores)["t2m"]["R@1"] == 50.0


def test_label_relevance():
    scores = np.array([[0.1, 0.9, 0.2], [0.9, 0.1, 0.8]])
    m = retrieval_labels(scores, ["walk", "run"], ["run", "walk", "run"])
    assert m["t2m"]["R@1"] == 100.0 and m["m2t"]["R@1"] == 100.0
    m = retrieval_labels(scores, ["walk", "run"], ["walk", "run", "jump"])
    assert m["t2m"]["R@1"] == 0.0 and m["m2t"]["n_queries"] == 2  # the 'jump' motion has no relevant text


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        retrieval_all(np.ones((2, 3)))
    with pytest.raises(ValueError):
        retrieval_all(np.array([[np.nan, 0], [0, 1]]))
