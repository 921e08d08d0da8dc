"""A library's motions in parts: where a `-word` shows in one part of a motion, not in the whole.

A motion's lexical vector is the max over windows of max_frames frames, and the salience rule that `-word`
excludes by (engine/index/salience.py) reads that whole vector. A right kick followed by a left one weighs
"left" and "right" within a few percent of each other, as a right kick alone does, so `kick -left` kept it:
both kicks fall inside every full-length window. Here each motion longer than part_frames (half of max_frames)
is also encoded in its two halves (each as any motion is, max over its windows), and a `-word` excludes the
motions with a half where the word is salient *together with one of the query's own words*: the excluded word
must describe the part the query asks for ("kick" of `kick -left`), not another action of the motion. Halves
fit the library's "X, then Y" clips; windows of part_frames caught a few more of them but wrongly excluded three
times as many of Bandai's long real walks from `walk -left` (one of many short windows shows "left"), and cost
twice as much to encode. Chosen on the validation splits (bench/RESULTS.md, "Negative words in a motion's parts").
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..index import Salience, SparseIndex
from ..models.encode import encode_motions, windows

PART_DIVISOR = 2  # motions longer than max_frames // PART_DIVISOR have parts (the windows rule's length too)
RULES = ("halves", "windows")   # its two halves; half-overlapping windows of part_frames (bench/negative_parts.py)
RULE = "halves"
KEY = f"{RULE}-{PART_DIVISOR}"  # what the saved parts were built by (with the library's fingerprint)


class MotionParts:
    """The parts' vectors in one SparseIndex; `owner[i]` is the library document part i belongs to."""

    def __init__(self, index: SparseIndex):
        self.index = index
        self.owner = np.asarray([int(i) for i in index.ids], dtype=np.int64)

    @classmethod
    def build(cls, model, motions: list[np.ndarray], top_k: int | None, progress=None,
              rule: str = RULE) -> "MotionParts":
        size = part_frames(model)
        parts, owner = [], []
        for doc, joints in enumerate(motions):
            if len(joints) > size:
                for a, b in cuts(len(joints), size, rule):
                    parts.append(joints[a:b])
                    owner.append(str(doc))
        vectors = encode_motions(model, parts, progress=progress) if parts else \
            sp.csr_matrix((0, model.vocab_size), dtype=np.float32)
        return cls(SparseIndex.build(vectors, owner, top_k, vocab_size=model.vocab_size))

    def save(self, directory: str | Path, fingerprint: str) -> None:
        self.index.save(directory, fingerprint)

    def excluded(self, negatives, positives, salience: Salience) -> np.ndarray:
        """Library documents with a part where a negative term and one of the positive terms are both salient."""
        holding = np.zeros(len(self.owner), dtype=bool)
        for term in positives:
            holding[self.index.salient_documents(int(term), salience)] = True
        parts = [self.index.salient_documents(int(t), salience) for t in negatives]
        parts = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return np.unique(self.owner[parts[holding[parts]]])


def part_frames(model) -> int:
    return max(1, model.cfg.max_frames // PART_DIVISOR)


def cuts(frames: int, size: int, rule: str = RULE) -> list[tuple[int, int]]:
    """[start, end) of a motion's parts: its two halves ("halves") or half-overlapping windows of `size`
    ("windows")."""
    if rule not in RULES:
        raise ValueError(f"unknown parts rule {rule!r} (one of {', '.join(RULES)})")
    if rule == "halves":
        return [(0, frames // 2), (frames // 2, frames)]
    return windows(frames, size)
