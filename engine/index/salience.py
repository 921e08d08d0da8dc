"""When a document *shows* a term: what a negative keyword (`-word`) excludes (engine/index/inverted.py).

A term is salient in a document when it is among the document's SALIENT_TOP heaviest counted terms and, for a
term with an opposite (left/right, forward/backward, ...), heavier than that opposite and than its rivals
("both" for left and right), within the wider OPPOSITE_TOP: a side word ranks below the action's words
("waves, wave, waving, hand, ...") even where it is the side the motion shows, and which side it shows is
told by the pair, not by the rank (bench/RESULTS.md: `wave -left` on Bandai). OPPOSITE_TOP was 16 until a
left kick's "left" ranked 18th, behind "kick, kicks, kicked, kicking, leg, foot" and a few stray words, and
`kick -left` kept it (chosen on the synthetic validation split: bench/RESULTS.md, "Motion alignment").
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

SALIENT_TOP = 8        # a negative term excludes a document when it is among the document's 8 heaviest words
OPPOSITE_TOP = 24      # ... or, for a term with an opposite that it outweighs (and its rivals), its 24 heaviest


@dataclass(frozen=True, eq=False)
class Salience:
    """When a document *shows* a term, i.e. what a negative term excludes (module doc).

    top: t is salient in d when fewer than `top` counted terms of d weigh more than t (None: whenever d
    holds t). counted: (V,) bool, the terms that take a rank (e.g. Vocabulary.displayable, so that stop
    words and punctuation do not push a word out of the top); None counts every term. opposites: term id
    -> the id of its opposite; such a term is salient only where it outweighs its opposite and its `rivals`,
    and is ranked by `opposite_top` instead of `top`.
    """
    top: int | None = SALIENT_TOP
    counted: np.ndarray | None = None
    opposites: Mapping[int, int] = field(default_factory=dict)
    rivals: Mapping[int, tuple[int, ...]] = field(default_factory=dict)   # also outweighed
    opposite_top: int | None = OPPOSITE_TOP   # the rank rule of a term with an opposite

    def key(self) -> tuple:
        """What the per-document thresholds depend on (the index caches them per key)."""
        if self.counted is None:
            return self.top, None
        return self.top, hashlib.sha1(np.packbits(np.asarray(self.counted, dtype=bool)).tobytes()).hexdigest()


ANY_HOLDER = Salience(top=None)
