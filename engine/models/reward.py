"""Text-motion scores of a retrieval model: SoPo's reward (the lexical model) and the evaluator's score.

`text_motion_cosine(model, captions, motions, kind)`: row i is cos(text_i, motion_i) with the vectors as the
model scores them (encode.py: lexical vectors top-k'd and, under cosine scoring, L2-normalised; dense ones
L2-normalised), motions of any length windowed as everywhere else. Lexical vectors are non-negative
(log(1 + ReLU)), so their cosine is in [0, 1]; dense cosines are in [-1, 1].

SoPo's reward r(x, c) (the seed uses TMR's score; ours is the lexical model's): the lexical cosine, mapped
by `REWARD_MAPS`. "half" is (1 + cos) / 2, the usual map of a cosine in [-1, 1] to [0, 1]; since ours is
never negative it only lands in [0.5, 1], which is why the default is "identity" (r = cos itself) and the
threshold tau is set on that scale from measured reward distributions (bench/RESULTS.md, "Generation").
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

REWARD_MAPS = {"identity": lambda c: c, "half": lambda c: (1.0 + c) / 2.0}


def text_motion_cosine(model, captions: Sequence[str], motions: Sequence[np.ndarray], kind: str = "lexical",
                       batch_size: int = 64) -> np.ndarray:
    """(N,) cosine of caption i and motion i (canonical joints (T, 22, 3)) in `model`'s space."""
    from .encode import encode_motions, encode_texts

    if len(captions) != len(motions):
        raise ValueError(f"{len(captions)} captions for {len(motions)} motions")
    m = encode_motions(model, list(motions), kind=kind, batch_size=batch_size)
    t = encode_texts(model, list(captions), kind=kind)
    if kind == "lexical":
        dots = np.asarray(m.multiply(t).sum(axis=1)).ravel()
        norms = (np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
                 * np.sqrt(np.asarray(t.multiply(t).sum(axis=1)).ravel()))
    else:
        dots = (m * t).sum(axis=1)
        norms = np.linalg.norm(m, axis=1) * np.linalg.norm(t, axis=1)
    return (dots / np.clip(norms, 1e-12, None)).astype(np.float64)


def lexical_reward(model, captions: Sequence[str], motions: Sequence[np.ndarray],
                   mapping: str = "identity") -> np.ndarray:
    """SoPo's r(x, c) for each (caption, motion) pair: the lexical cosine through REWARD_MAPS[mapping]."""
    if mapping not in REWARD_MAPS:
        raise ValueError(f"reward mapping must be one of {', '.join(REWARD_MAPS)}, not {mapping!r}")
    return REWARD_MAPS[mapping](text_motion_cosine(model, captions, motions, "lexical"))
