"""Two-part captions: "A person waves the left hand, then walks forward."

A motion's lexical vector is the max over its windows, so one caption decoded from it names whichever
action weighs most and drops the other half of "... then ...". For a motion longer than one window we find
the cut between windows where its words change most (the cut whose two sides' pooled vectors have the
lowest cosine). When that change is larger than the library's two-part threshold, each side is captioned
from its own pooled vector and the two captions are joined.

The threshold is learnt from the library's own captions: the dissimilarity that best separates its clips
captioned in two parts ("... then ...", "after ...") from the others (balanced accuracy over up to
`CALIBRATION_CLIPS` of each, encoded once per checkpoint and library and cached beside its index). A
library without two-part captions (Bandai's) has no threshold, and its motions are captioned in one part.
bench/RESULTS.md gives the threshold and how often each kind of clip is captioned in two parts.
"""
from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F

from ..models.encode import MotionEncoding, encode_motion, scored_lexical

CALIBRATION_CLIPS = 100   # of each kind (one part, two parts), evenly spaced over the library
MIN_CLIPS = 10            # fewer two-part (or one-part) captions than this: no threshold
TWO_PART_CAPTION = re.compile(r"\b(?:then|after|afterwards|followed by|before)\b", re.IGNORECASE)
# The subject the second caption drops when joined: "a lively person walks" -> "walks".
_SUBJECT = re.compile(
    r"^(?:(?:a|an|the)\s+(?:\w+\s+)?(?:person|man|woman|human|figure|subject|guy|lady|boy|girl|individual)"
    r"|someone|somebody|he|she|they)\s+(?:(?:first|then|also)\s+)?", re.IGNORECASE)


def best_cut(model, window_p: torch.Tensor) -> tuple[int, float] | None:
    """(j, 1 - cosine) of the cut between windows j-1 and j whose two sides differ most; None for one window."""
    best = None
    for j in range(1, window_p.shape[0]):
        left, right = _pooled(model, window_p[:j]), _pooled(model, window_p[j:])
        dissimilarity = 1.0 - float(F.cosine_similarity(left, right, dim=0))
        if best is None or dissimilarity > best[1]:
            best = (j, dissimilarity)
    return best


def two_parts(model, encoding: MotionEncoding, threshold: float | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The scored vectors of the motion's two sides when its best cut changes more than `threshold`, else None."""
    cut = None if threshold is None else best_cut(model, encoding.window_p)
    if cut is None or cut[1] < threshold:
        return None
    return _pooled(model, encoding.window_p[:cut[0]]), _pooled(model, encoding.window_p[cut[0]:])


def join_captions(first: str, second: str) -> str:
    """"A person waves." + "A person walks forward." -> "A person waves, then walks forward."."""
    head = first.rstrip(" .")
    tail = _SUBJECT.sub("", second.strip(), count=1).rstrip(" .")
    return f"{head}, then {tail[0].lower()}{tail[1:]}." if tail else first


def library_threshold(model, dataset) -> float | None:
    """The library's two-part threshold (module doc), or None when it has too few clips of either kind."""
    kinds = {True: [], False: []}
    for clip in dataset.clips:
        if clip.captions:
            kinds[any(TWO_PART_CAPTION.search(t) for t in clip.captions)].append(clip)
    if min(len(kinds[True]), len(kinds[False])) < MIN_CLIPS:
        return None
    values = {}
    for kind, clips in kinds.items():
        chosen = [clips[int(i)] for i in np.linspace(0, len(clips) - 1, min(CALIBRATION_CLIPS, len(clips)))]
        cuts = [best_cut(model, encode_motion(model, dataset.motion(c.id).joints).window_p) for c in chosen]
        values[kind] = np.array([0.0 if cut is None else cut[1] for cut in cuts])
    return fit_threshold(values[False], values[True])


def fit_threshold(one_part: np.ndarray, two_parts_: np.ndarray) -> float:
    """The cut dissimilarity with the best balanced accuracy (two parts at or above it), midway between
    neighbouring observed values."""
    candidates = np.unique(np.concatenate([one_part, two_parts_]))
    best, best_score = float(candidates[-1]) + 1e-6, -1.0
    for low, high in zip(candidates[:-1], candidates[1:]):
        t = float(low + high) / 2
        score = (np.mean(one_part < t) + np.mean(two_parts_ >= t)) / 2
        if score > best_score:
            best, best_score = t, score
    return round(best, 6)


def _pooled(model, window_p: torch.Tensor) -> torch.Tensor:
    return scored_lexical(model, window_p.max(dim=0).values[None])[0]
