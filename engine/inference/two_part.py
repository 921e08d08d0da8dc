"""Two-part captions: "A person waves the left hand, then walks forward."

A motion's lexical vector is the max over its windows, so one caption decoded from it names whichever
action weighs most and drops the other half of "... then ...". For a motion longer than one window we find
the cut between windows where its words change most (the cut whose two sides' pooled vectors have the
lowest cosine). When that change is larger than the library's two-part threshold, each side is captioned
from its own pooled vector and the two captions are joined.

The threshold is learnt from the library's own captions, from up to `CALIBRATION_CLIPS` of its clips captioned
in one part and as many captioned in two ("... then ...", "after ..."), encoded once per checkpoint and library
and cached beside its index: it is the dissimilarity that only FALSE_SPLITS (5%) of the one-part clips exceed,
kept when at least MIN_RECALL (half) of the two-part clips exceed it. A library where the two kinds do not
separate that well (Bandai's: its "walks forward, then turns left" takes change little) or that has no
two-part captions has no threshold, and its motions are captioned in one part: a one-part motion captioned
in two costs more than a two-part one captioned in one (on Bandai, splitting 32% of the one-part takes
cut the decoder's CIDEr from 1.71 to 1.30).
bench/RESULTS.md gives the threshold and how often each kind of clip is captioned in two parts.
"""
from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F

from ..models.encode import MotionEncoding, encode_motion, scored_lexical
from ..vocab import OPPOSITES, is_displayable_word

CALIBRATION_CLIPS = 100   # of each kind (one part, two parts), evenly spaced over the library
MIN_CLIPS = 10            # fewer two-part (or one-part) captions than this: no threshold
FALSE_SPLITS = 0.05       # the share of one-part clips the threshold lets be captioned in two
MIN_RECALL = 0.5          # the share of two-part clips it must catch, else no threshold
RULE = f"q{1 - FALSE_SPLITS:g}-r{MIN_RECALL:g}"   # cached thresholds of another rule are recomputed
SAME_ACTION_OVERLAP = 0.5   # shared share of the halves' words above which they say one thing (same_action)
SIDE_WORDS = frozenset(w for pair in OPPOSITES for w in pair) | {"both"}
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
    if cut is None or cut[1] <= threshold:
        return None
    return _pooled(model, encoding.window_p[:cut[0]]), _pooled(model, encoding.window_p[cut[0]:])


def join_captions(first: str, second: str) -> str:
    """"A person waves." + "A person walks forward." -> "A person waves, then walks forward."."""
    head = first.rstrip(" .")
    tail = _SUBJECT.sub("", second.strip(), count=1).rstrip(" .")
    return f"{head}, then {tail[0].lower()}{tail[1:]}." if tail else first


def same_action(first: str, second: str) -> bool:
    """Whether the two halves' captions say one thing ("jogs in a circle, then jogs in a circle"): they name the
    same side words and share more than half of their displayable words. The cut then split one action
    (a repeated or slowing motion), so the motion is captioned in one part (bench/RESULTS.md: 20 of the 200
    synthetic test clips; decoder-alone CIDEr 1.069 -> 1.117)."""
    a, b = _shown_words(first), _shown_words(second)
    if not a or not b or {w for w in a if w in SIDE_WORDS} != {w for w in b if w in SIDE_WORDS}:
        return False
    return len(a & b) / len(a | b) > SAME_ACTION_OVERLAP


def _shown_words(caption: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", caption.lower()) if is_displayable_word(w)}


def library_threshold(model, dataset) -> float | None:
    """The library's two-part threshold (module doc), or None when it has too few clips of either kind or they
    do not separate."""
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


def fit_threshold(one_part: np.ndarray, two_parts_: np.ndarray) -> float | None:
    """The cut dissimilarity that only FALSE_SPLITS of the one-part clips exceed, or None when fewer than
    MIN_RECALL of the two-part clips exceed it (module doc)."""
    threshold = float(np.quantile(one_part, 1.0 - FALSE_SPLITS))
    if float(np.mean(two_parts_ > threshold)) < MIN_RECALL:
        return None
    return round(threshold, 6)


def _pooled(model, window_p: torch.Tensor) -> torch.Tensor:
    return scored_lexical(model, window_p.max(dim=0).values[None])[0]
