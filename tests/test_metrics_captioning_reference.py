"""Our BLEU@1, BLEU@4, ROUGE-L and CIDEr-D against coco-caption's own scorers (pycocoevalcap 1.2).

What pycocoevalcap 1.2 computes (read from its source):
- Bleu(4): corpus BLEU@1..4 (clipped counts summed over the corpus, "closest" reference length, shorter
  wins ties, BP = exp(1 - r/c) on the corpus lengths, smoothing 1e-15 / 1e-9), and per-sentence BLEU
  with the same formula on one sentence. Ours: `bleu(candidates, references, n)` is the corpus value;
  on a one-item corpus it is the per-sentence value.
- Rouge(): per-item ROUGE-L F (beta 1.2, precision and recall each maximised over the references),
  corpus = mean. Ours: `rouge_l`, the same.
- Cider(): CIDEr-D (clipped tf-idf, Gaussian length penalty sigma 6, x10) with document frequencies from
  the references it is given, idf = log(N) - log(max(1, df)). Ours: `cider_d` (corpus mean) and
  `CiderD(references).scores` (per item, same document frequencies). Its length for the penalty is the
  number of bigrams (len - 1), ours the number of words: the difference of the two lengths is the same
  unless one caption is empty, and then the cosine is 0 anyway, so the scores agree exactly.
Its PTBTokenizer needs Java: both sides get the same captions tokenised here (lower case, punctuation
removed, whitespace split), re-joined with single spaces.
"""
import string

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from engine.data import open_dataset
from engine.metrics.captioning import CiderD, bleu, cider_d, rouge_l, tokenize_caption

TOL = 1e-6
_STRIP = str.maketrans(string.punctuation, " " * len(string.punctuation))


def tokenised(text: str) -> str:
    return " ".join(text.lower().translate(_STRIP).split())


def corpus_from_clips():
    """Real procedural captions: candidate = clip i+1's first caption, references = all of clip i's;
    plus exact matches (the candidate is one of its references) and captions sharing no word."""
    clips = open_dataset("synthetic?n=40&seed=0").clips
    cands, refs = [], []
    for i in range(22):
        cands.append(clips[i + 1].captions[0])
        refs.append(clips[i].captions)
    for i in (30, 31, 32):                                   # exact matches
        cands.append(clips[i].captions[-1])
        refs.append(clips[i].captions)
    cands += ["purple elephants juggle quietly", "zebra"]     # no word in common with the references
    refs += [clips[35].captions, clips[36].captions]
    cands = [tokenised(c) for c in cands]
    refs = [[tokenised(r) for r in rs] for rs in refs]
    return cands, refs


def truncated_corpus():
    """Candidates shorter than their references overall (the corpus brevity penalty applies): the first
    four words of clip i's first caption against clip i's other captions."""
    clips = open_dataset("synthetic?n=40&seed=0").clips
    cands = [" ".join(tokenised(c.captions[0]).split()[:4]) for c in clips[:24]]
    refs = [[tokenised(r) for r in c.captions[1:]] for c in clips[:24]]
    return cands, refs


@pytest.fixture(scope="module", params=["shifted", "truncated"])
def corpus(request):
    cands, refs = corpus_from_clips() if request.param == "shifted" else truncated_corpus()
    assert 20 <= len(cands) <= 30 and all(refs)
    # both implementations see exactly the same tokens
    for text in cands + [r for rs in refs for r in rs]:
        assert text and tokenize_caption(text) == text.split(" ")
    gts = {i: list(rs) for i, rs in enumerate(refs)}
    res = {i: [c] for i, c in enumerate(cands)}
    return cands, refs, gts, res


def test_corpus_is_what_it_claims():
    cands, refs = corpus_from_clips()
    assert sum(c in rs for c, rs in zip(cands, refs)) >= 3                                  # exact matches
    disjoint = [c for c, rs in zip(cands, refs) if not set(c.split()) & {w for r in rs for w in r.split()}]
    assert len(disjoint) >= 2
    cands, refs = truncated_corpus()
    closest = sum(min((abs(len(r.split()) - len(c.split())), len(r.split())) for r in rs)[1]
                  for c, rs in zip(cands, refs))
    assert sum(len(c.split()) for c in cands) < closest                                     # BP < 1


def test_bleu_matches_coco_caption_corpus_and_per_sentence(corpus):
    cands, refs, gts, res = corpus
    reference, per_sentence = Bleu(4).compute_score(gts, res, verbose=0)
    assert bleu(cands, refs, 1) == pytest.approx(reference[0], abs=TOL)
    assert bleu(cands, refs, 4) == pytest.approx(reference[3], abs=TOL)
    ours_1 = [bleu([c], [rs], 1) for c, rs in zip(cands, refs)]
    ours_4 = [bleu([c], [rs], 4) for c, rs in zip(cands, refs)]
    np.testing.assert_allclose(ours_1, per_sentence[0], rtol=0, atol=TOL)
    np.testing.assert_allclose(ours_4, per_sentence[3], rtol=0, atol=TOL)


def test_rouge_l_matches_coco_caption_corpus_and_per_sentence(corpus):
    cands, refs, gts, res = corpus
    reference, per_sentence = Rouge().compute_score(gts, res)
    assert rouge_l(cands, refs) == pytest.approx(reference, abs=TOL)
    np.testing.assert_allclose([rouge_l([c], [rs]) for c, rs in zip(cands, refs)], per_sentence, rtol=0, atol=TOL)


def test_cider_d_matches_coco_caption_corpus_and_per_sentence(corpus):
    cands, refs, gts, res = corpus
    reference, per_sentence = Cider().compute_score(gts, res)
    assert reference > 0.1                       # a real score, not two zeros agreeing
    assert cider_d(cands, refs) == pytest.approx(reference, abs=TOL)
    # per item: document frequencies of the whole evaluated corpus, as coco-caption's per-image scores
    tokens = [[r.split() for r in rs] for rs in refs]
    ours = CiderD(tokens).scores([c.split() for c in cands], tokens)
    np.testing.assert_allclose(ours, per_sentence, rtol=0, atol=TOL)
