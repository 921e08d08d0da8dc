"""Mirror augmentation: a motion seen in a mirror, with its caption's sides swapped.

HumanML3D doubles its data this way (its "M" copies: the motion mirrored left<->right and every side
word of the caption exchanged). A mirrored "wave with the left hand" is a right-hand wave, a mirrored
left turn a right turn, so the pair stays true, and a model that sees both learns which side a motion
uses from the motion rather than from how often each side appears in the captions.
The motion side is `engine.skeleton.mirror_joints`; this module swaps the words.
"""
from __future__ import annotations

import re

# Each pair is swapped both ways; "counter-clockwise" and "anticlockwise" become "clockwise".
_SWAPS = {"left": "right", "right": "left", "leftward": "rightward", "rightward": "leftward",
          "leftwards": "rightwards", "rightwards": "leftwards", "clockwise": "counterclockwise",
          "counterclockwise": "clockwise", "counter-clockwise": "clockwise", "anticlockwise": "clockwise",
          "anti-clockwise": "clockwise"}
_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SWAPS), key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


def mirror_caption(text: str) -> str:
    """The caption of the mirrored motion: every side word exchanged, its capitalisation kept."""
    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = _SWAPS[word.lower()]
        if word.isupper():
            return new.upper()
        return new.capitalize() if word[0].isupper() else new
    return _PATTERN.sub(swap, text)


def mirror_draw(random_int: int, probability: float) -> bool:
    """Whether an item is mirrored, from the batch stream's per-item random integer (bits 20-29, so the
    draw is independent of the caption choice, which reads the integer modulo a small count)."""
    return probability > 0 and ((random_int >> 20) & 1023) / 1024.0 < probability
