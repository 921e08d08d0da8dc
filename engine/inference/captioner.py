"""Captioning = the motion's lexical bottleneck decoder at 100% masking, decoded by mask-predict.

Mask-predict (Ghazvininejad et al. 2019): start from [CLS] [MASK]*L [SEP], predict every position, then
for a few iterations re-mask the least confident positions and predict them again. The length L is
searched: every candidate length is decoded in one batch, so no length predictor has to be trained.

What the decoder reads: with a fitted caption head (models/caption_head.py, fitted by caption tuning) it
decodes from the head's prediction of the caption vector instead of the motion's own vector.

Choosing among the finished candidates (`choose`): the decoder's mean log-probability prefers short,
generic captions ("A person lifts both hands."), so by default (select="lexical") a candidate is ranked by
how well it says what the motion shows: the cosine between its lexical vector (our text encoder) and the
vector the decoder read, plus `consensus` x its agreement with the motion's other candidates (CIDEr-D
against them, minimum Bayes risk: the phrasing the other lengths agree with is the safest). select=
"log_prob" keeps the decoder's own choice. Without neighbours this is "the decoder alone" (eval's
`captioning.model`, the figure comparable with the seed's Table 3).

Neighbour guidance (`neighbours`, what the served captioner passes; eval's `retrieval_augmented`): the
captions of the NEIGHBOURS library motions closest to the motion in the model's lexical space stand in for
the references the selection cannot see: each candidate also scores `neighbour_weight` x its CIDEr-D
against them. The words are still the decoder's; the neighbours only choose among its candidates.

Cost: the vocabulary projection dominates (one row per lexicon term per position), so only the first pass
runs it in full. That pass also prunes: each motion keeps its `keep_lengths` best lengths, and the later
passes score only a short-list, the `shortlist` best words of every position in the first pass (their
log-probabilities are normalised over the short-list and only compared with each other). The defaults
(8 iterations, 10 kept lengths, consensus 0.05, 20 neighbours at weight 0.3) were chosen on Bandai's
validation split; bench/RESULTS.md ("Captioning: how the defaults were chosen") has the figures.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..metrics.captioning import CiderD, consensus_cider
from ..models.caption_text import caption_text, special_positions
from ..models.lexical import keep_top_k

LENGTHS = tuple(range(4, 15))   # word-piece counts tried; motion captions are mostly 5-15 tokens
NEIGHBOURS = 20                 # library motions whose captions guide the selection (see the module doc)
NEIGHBOUR_WEIGHT = 0.3


@dataclass
class Caption:
    text: str
    log_prob: float   # mean log-probability of the chosen tokens
    length: int


@dataclass
class NeighbourCaptions:
    """What each motion's nearest library motions were captioned (one list per motion), with the library's
    CIDEr-D document frequencies: the selection's stand-in for references it cannot see."""
    captions: list[list[str]]
    cider: CiderD


@dataclass
class Candidates:
    """The finished captions of each motion's kept lengths, row b * per_motion + j for motion b."""
    texts: list[str]
    log_prob: torch.Tensor    # (B, per_motion) mean log-probability of each candidate's words
    lengths: list[list[int]]  # (B, per_motion) the word-piece count each was decoded at
    decoded: torch.Tensor     # (B, len(lexicon)) the vectors the decoder read
    _agreement: tuple | None = field(default=None, repr=False, compare=False)

    def agreement(self, model) -> tuple[dict[str, int], torch.Tensor]:
        """({distinct text: column}, (distinct, B) lexical_agreement with the decoded vectors), computed once:
        the served captioner chooses twice among the same candidates (guided, and the decoder alone)."""
        if self._agreement is None:
            self._agreement = _distinct_agreement(model, self.texts, self.decoded)
        return self._agreement


@torch.no_grad()
def mask_predict(model, p: torch.Tensor, lengths=LENGTHS, iterations: int = 8, decoder: str = "motion",
                 keep_lengths: int = 10, shortlist: int = 8, select: str = "lexical",
                 consensus: float = 0.05, caption_head: bool = True, neighbours: NeighbourCaptions | None = None,
                 neighbour_weight: float = NEIGHBOUR_WEIGHT) -> list[Caption]:
    """Captions for motion lexical vectors p (B, len(lexicon)), one per row: `decode_candidates`, then
    `choose` (see both)."""
    if select not in ("lexical", "log_prob"):
        raise ValueError(f"select must be 'lexical' or 'log_prob', not {select!r}")
    found = decode_candidates(model, p, lengths, iterations, decoder, keep_lengths, shortlist, caption_head)
    return choose(model, found, select, consensus, neighbours, neighbour_weight)


@torch.no_grad()
def decode_candidates(model, p: torch.Tensor, lengths=LENGTHS, iterations: int = 8, decoder: str = "motion",
                      keep_lengths: int = 10, shortlist: int = 8, caption_head: bool = True) -> Candidates:
    """Mask-predict at every length. With a fitted caption head (and `caption_head`), the decoder reads the
    caption vector it predicts from p instead of p. Each motion keeps its `keep_lengths` most probable
    lengths after the first pass; their finished captions are the candidates."""
    if caption_head and model.caption_head.fitted:
        p = model.caption_head(p)
    tok = model.tokenizer
    lengths = [n for n in lengths if n + 2 <= model.cfg.max_text_len] or [model.cfg.max_text_len - 2]
    B, n_len = p.shape[0], len(lengths)
    ids, attention, words = _masked_rows(tok, lengths, B, p.device)
    dec = model.text_decoder if decoder == "text" else model.motion_decoder
    embeddings = model.word_embeddings()
    e_cbow = dec.cbow(p.repeat_interleave(n_len, dim=0), embeddings, model.lexicon.head_ids())

    def predict(current, e, attn, vocab_ids, banned=None, positions=None):
        logits = dec.decode(e, current, attn, embeddings, vocab_ids, positions)
        if banned is not None:
            logits[..., banned] = float("-inf")          # never emit [CLS]/[SEP]/[PAD]/[MASK]
        return logits.log_softmax(-1)

    # Pass 1: every length, the model's whole lexicon, at the word positions only: (words, lexicon).
    log_probs = predict(ids, e_cbow, attention, model.lexicon.head_ids(), special_positions(model), words)
    best_of_word, arg_of_word = log_probs.max(-1)
    confidence = torch.zeros(words.shape, device=p.device).masked_scatter(words, best_of_word)
    current = ids.masked_scatter(words, model.lexicon.term_ids[arg_of_word])
    score = _mean_over(confidence, words).view(B, n_len)
    kept = score.topk(min(keep_lengths, n_len), dim=1).indices                  # (B, k) length slots
    rows = (torch.arange(B, device=p.device)[:, None] * n_len + kept).flatten()
    of_kept_row = torch.isin(words.nonzero()[:, 0], rows)                       # word entries of kept rows
    candidates = model.lexicon.term_ids[log_probs[of_kept_row].topk(min(shortlist, log_probs.shape[-1]), -1).indices]
    vocab_ids = candidates.unique()                                             # sorted vocabulary ids
    current, attention, words, confidence, e_cbow = (t[rows] for t in (current, attention, words, confidence, e_cbow))
    for it in range(1, iterations):
        # Re-mask the least confident n * (1 - it/iterations) words of each row, then predict them again.
        n_mask = (words.sum(1).float() * (1 - it / iterations)).long()
        order = torch.where(words, confidence, torch.full_like(confidence, float("inf"))).argsort(1)
        remask = words & (order.argsort(1) < n_mask[:, None])
        current = torch.where(remask, torch.full_like(current, tok.mask_token_id), current)
        best, arg = predict(current, e_cbow, attention, vocab_ids).max(-1)
        current = torch.where(remask, vocab_ids[arg], current)
        confidence = torch.where(remask, best, confidence)
    texts = [caption_text(tok, current[r][words[r]].tolist()) for r in range(current.shape[0])]
    return Candidates(texts, _mean_over(confidence, words).view(B, kept.shape[1]),
                      [[lengths[int(j)] for j in row] for row in kept], p)


def choose(model, found: Candidates, select: str = "lexical", consensus: float = 0.05,
           neighbours: NeighbourCaptions | None = None, neighbour_weight: float = NEIGHBOUR_WEIGHT) -> list[Caption]:
    """One caption per motion: "lexical" picks by agreement with the decoded vector, plus `consensus` x
    agreement with the motion's other candidates, plus `neighbour_weight` x CIDEr-D against `neighbours`'
    captions when given (see the module doc); "log_prob" by the decoder's own probability."""
    B = found.decoded.shape[0]
    if neighbours is not None and len(neighbours.captions) != B:
        raise ValueError(f"{len(neighbours.captions)} neighbour caption lists for {B} motions")
    picked = (_lexical_choice(model, found.texts, found.decoded, consensus, neighbours, neighbour_weight,
                              found.agreement(model)) if select == "lexical" else found.log_prob).argmax(1)
    per_motion = found.log_prob.shape[1]
    return [Caption(text=found.texts[b * per_motion + int(j)], log_prob=float(found.log_prob[b, j]),
                    length=found.lengths[b][int(j)]) for b, j in enumerate(picked)]


def _lexical_choice(model, texts: list[str], p: torch.Tensor, consensus: float,
                    neighbours: NeighbourCaptions | None, neighbour_weight: float, agreement=None) -> torch.Tensor:
    """(B, candidates) selection scores: agreement with the decoded vector + consensus x agreement with the
    motion's other candidates [+ neighbour_weight x CIDEr-D against the neighbours' captions]. Lengths
    often finish as the same text, so each distinct text is encoded once (or not at all when `agreement`,
    Candidates.agreement, already holds the cosines)."""
    per_motion = len(texts) // p.shape[0]
    column, cosines = agreement or _distinct_agreement(model, texts, p)   # cosines: (distinct texts, B)
    scores = torch.empty(p.shape[0], per_motion)
    for b in range(p.shape[0]):
        group = texts[b * per_motion:(b + 1) * per_motion]
        total = np.array([float(cosines[column[t], b]) for t in group])
        if consensus:
            total += consensus * consensus_cider(group)
        if neighbours is not None and neighbour_weight:
            total += neighbour_weight * neighbours.cider.scores_against(group, neighbours.captions[b])
        scores[b] = torch.from_numpy(total)
    return scores


def _distinct_agreement(model, texts: list[str], p: torch.Tensor) -> tuple[dict[str, int], torch.Tensor]:
    """({distinct text: column}, lexical_agreement of the distinct texts with p): each text encoded once."""
    distinct = list(dict.fromkeys(texts))
    return {t: i for i, t in enumerate(distinct)}, lexical_agreement(model, distinct, p)


@torch.no_grad()
def lexical_agreement(model, texts: list[str], p: torch.Tensor) -> torch.Tensor:
    """(len(texts), B) cosines between each text's lexical vector and each motion's, both as the model
    scores them: each vector's lex_top_k heaviest terms."""
    ids, mask = model.tokenize(texts)
    t = F.normalize(keep_top_k(model.text_lexical(ids, mask)[0], model.cfg.lex_top_k), dim=-1)
    m = F.normalize(keep_top_k(p, model.cfg.lex_top_k).to(t.dtype), dim=-1)
    return t @ m.T


def _masked_rows(tok, lengths, B: int, device):
    """One row per (motion, candidate length), [CLS] [MASK]*n [SEP] [PAD]...: ids, attention, word positions."""
    n_len, longest = len(lengths), max(lengths) + 2
    ids = torch.full((B * n_len, longest), tok.pad_token_id, dtype=torch.long, device=device)
    attention = torch.zeros_like(ids, dtype=torch.bool)
    words = torch.zeros_like(attention)
    for j, n in enumerate(lengths):
        rows = slice(j, B * n_len, n_len)
        ids[rows, 0], ids[rows, 1:n + 1], ids[rows, n + 1] = tok.cls_token_id, tok.mask_token_id, tok.sep_token_id
        attention[rows, : n + 2] = True
        words[rows, 1:n + 1] = True
    return ids, attention, words


def _mean_over(values: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    return (values * where).sum(1) / where.sum(1).clamp_min(1)
