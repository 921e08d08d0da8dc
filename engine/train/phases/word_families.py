"""Ours: a caption's words as keyword search reads them, each word with its other whole forms.

The caption-word ranking term (losses.caption_word_ranking) asks each caption word to rank the batch's motions
as its keyword query would. Keyword search (engine/index/query.py, inflections=True) reads a typed word in all
its whole forms, the forms sharing the word's weight: `run` scores runs, running and run alike, and `jog`, which
BERT cuts into jo ##g, is searched as jogging / jogged. Token by token, the term saw neither: "runs" and
"running" were two unrelated columns and a caption that "jogs" held no whole word for the action at all, so the
procedural jogs were taught only the "runs" of "runs at a jog". Here a caption word becomes its family (the word
and its whole forms), scored as the keyword query scores it: the mean of the motion's weights on the forms.
"""
from __future__ import annotations

import math

import torch

from ...index.query import whole_or_forms, word_ids
from ...vocab import is_displayable_word


def caption_word_strings(tokenizer, ids: torch.Tensor, mask: torch.Tensor) -> list[list[str]]:
    """The words of each tokenised caption, '##' pieces joined back to their word ("jo ##gs" -> "jogs")."""
    special = set(tokenizer.all_special_ids)
    out = []
    for row, keep in zip(ids.tolist(), mask.tolist()):
        words: list[str] = []
        for token in tokenizer.convert_ids_to_tokens([t for t, k in zip(row, keep) if k and t not in special]):
            if token.startswith("##") and words:
                words[-1] += token[2:]
            else:
                words.append(token)
        out.append(words)
    return out


class WordFamilies:
    """Caption words -> families of lexicon positions (the word's whole forms), cached per word.

    A word that is a stop word or punctuation, or that has no whole form the lexicon holds, has no family."""

    def __init__(self, model):
        self.model = model
        self.vocab = word_ids(model.tokenizer)
        self.special = set(model.tokenizer.all_special_ids)
        self._family: dict[str, tuple[int, ...] | None] = {}
        self._idf: dict[tuple[int, ...], float] = {}
        self._n_clips = 0

    def family(self, word: str) -> tuple[int, ...] | None:
        if word not in self._family:
            forms = [f for f in whole_or_forms(word, self.vocab, self.special, inflections=True)
                     if is_displayable_word(f)] if is_displayable_word(word) else []
            lexicon = self.model.lexicon
            ids = torch.tensor([self.vocab[f] for f in forms], dtype=torch.long, device=lexicon.term_ids.device)
            positions = sorted({int(p) for p in lexicon.positions_of(ids).tolist() if p >= 0})
            self._family[word] = tuple(positions) or None
        return self._family[word]

    def fit_idf(self, captions_per_clip) -> None:
        """log(N / df) of each family over the training clips (a clip holds a family when one of its captions
        holds one of the family's words)."""
        tok = self.model.tokenizer
        df: dict[tuple[int, ...], int] = {}
        for captions in captions_per_clip:
            enc = tok(list(captions), padding=True, return_tensors="pt", add_special_tokens=False)
            held = {f for words in caption_word_strings(tok, enc["input_ids"], enc["attention_mask"].bool())
                    for f in map(self.family, words) if f is not None}
            for f in held:
                df[f] = df.get(f, 0) + 1
        self._n_clips = max(1, len(captions_per_clip))
        self._idf = {f: math.log(self._n_clips / n) for f, n in df.items()}

    def batch(self, ids: torch.Tensor, mask: torch.Tensor, idf: bool = False):
        """(columns (P,), forms (P, W), has_word (B, W), idf (W,) or None) for a batch of tokenised captions:
        the lexicon positions of every form of the batch's W word families, each family's column of `forms`
        holding 1/len(family) at its forms (so that p[:, columns] @ forms is the keyword query's score), and
        which caption holds which family. A family unseen by fit_idf gets the largest IDF, log N."""
        families: dict[tuple[int, ...], int] = {}
        rows, cols = [], []
        for i, words in enumerate(caption_word_strings(self.model.tokenizer, ids, mask)):
            for f in map(self.family, words):
                if f is not None:
                    rows.append(i)
                    cols.append(families.setdefault(f, len(families)))
        device = ids.device
        has_word = torch.zeros(ids.shape[0], len(families), dtype=torch.bool, device=device)
        index = torch.tensor([rows, cols], dtype=torch.long, device=device).reshape(2, -1)
        has_word[index[0], index[1]] = True
        columns = [p for f in families for p in f]
        forms = torch.zeros(len(columns), len(families), device=device)
        start = 0
        for w, f in enumerate(families):
            forms[start:start + len(f), w] = 1.0 / len(f)
            start += len(f)
        weights = None
        if idf:
            top = math.log(max(1, self._n_clips))
            weights = torch.tensor([self._idf.get(f, top) for f in families], device=device)
        return torch.tensor(columns, dtype=torch.long, device=device), forms, has_word, weights
