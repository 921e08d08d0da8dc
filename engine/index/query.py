"""Keyword queries without a text encoder (Lyu et al. 2025, appendix: "the weight of the keyword is
directly set to 1"): `run:2 jump -left` -> {run: 2, jump: 1}, negatives {left}.

Syntax, whitespace separated: `word` (weight 1), `word:W` (weight W > 0), `-word` (exclude documents
holding it). A word missing from the vocabulary is split into word pieces as the tokenizer does
(`somersault` -> some ##rsa ##ult), each piece taking the word's weight. Repeated words add up. A term
that is both positive and negative is treated as negative.
"""
from __future__ import annotations

import re
import weakref

from engine.errors import MotionLexError

_WORD = re.compile(r"^(-?)([^:]+?)(?::([^:]*))?$")
_EDGE_PUNCT = ",.;!?\"'()[]{}"


_VOCABS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def word_ids(tokenizer) -> dict[str, int]:
    """The tokenizer's word -> id map, built once per tokenizer (get_vocab() copies 30,522 entries: ~9 ms,
    more than the search a keyword query then runs)."""
    vocab = _VOCABS.get(tokenizer)
    if vocab is None:
        vocab = _VOCABS[tokenizer] = tokenizer.get_vocab()
    return vocab


def vocabulary(tokenizer) -> list[str]:
    """Term id -> word piece (the tokenizer's vocabulary in id order)."""
    vocab = word_ids(tokenizer)
    words = [""] * (max(vocab.values()) + 1)
    for w, i in vocab.items():
        words[i] = w
    return words


def _term_ids(word: str, tokenizer, vocab: dict[str, int], special: set[int]) -> list[int]:
    if word in vocab and vocab[word] not in special:
        return [vocab[word]]
    ids = [vocab[p] for p in tokenizer.tokenize(word) if p in vocab]
    return [i for i in ids if i not in special]  # [UNK] & co. are not searchable words


def parse_keyword_query(text: str, tokenizer) -> tuple[dict[int, float], set[int], list[str]]:
    """Parse a keyword query into (term weights, negative term ids, words that map to no term).

    Raises MotionLexError for a malformed weight or when no positive keyword is in the vocabulary.
    """
    vocab = word_ids(tokenizer)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    weights: dict[int, float] = {}
    negatives: set[int] = set()
    unknown: list[str] = []
    for raw in text.split():
        m = _WORD.match(raw)
        if not m:
            raise MotionLexError(f"cannot read keyword {raw!r}: use word, word:2 or -word")
        neg, word, weight = m.group(1), m.group(2).strip(_EDGE_PUNCT).lower(), m.group(3)
        if not word:
            continue
        if weight is None:
            w = 1.0
        else:
            try:
                w = float(weight)
            except ValueError:
                raise MotionLexError(f"keyword {raw!r}: weight {weight!r} is not a number") from None
            if not (w > 0 and w < float("inf")):
                raise MotionLexError(f"keyword {raw!r}: weight must be a positive number")
        ids = _term_ids(word, tokenizer, vocab, special)
        if not ids:
            unknown.append(word)
        elif neg:
            negatives.update(ids)
        else:
            for i in ids:
                weights[i] = weights.get(i, 0.0) + w
    for i in negatives:
        weights.pop(i, None)
    if not weights:
        detail = f" (not in the vocabulary: {', '.join(unknown)})" if unknown else ""
        raise MotionLexError(f"the query {text!r} has no searchable keyword{detail}; "
                             "write words such as 'run jump' or 'wave -left'")
    return weights, negatives, unknown


def keyword_search(index, text: str, tokenizer, k: int = 10, **search_options):
    """Parse `text` and search `index` (a SparseIndex) with it; returns (hits, unknown words)."""
    weights, negatives, unknown = parse_keyword_query(text, tokenizer)
    return index.search(weights, k=k, negatives=negatives, **search_options), unknown
