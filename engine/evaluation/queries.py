"""Queries as a user types them, through the served search, on a split of a label dataset.

- Keyword precision@5 per action: `wave left hand`, `kick right leg`, `run`, `walk backwards` on the
  procedural library (a hit is relevant when its clip performs that primitive, alone or in a
  composition), the label's own words on Bandai (`raise up left hand`: relevant when the take's content is
  that label).
- Side separation: for a query naming a side, the mean score of that side's motions minus the mean score
  of the opposite side's motions of the same action (how far apart the two sides rank).
- Negative keywords: `wave -left` must return motions, none of its top 5 of the excluded side.
The library searched is the split itself (ModelService.library over dataset.subset(split)). A word that
BERT's vocabulary does not hold whole ("jog") is searched in its whole forms (jogged, jogging), as a user
typing it is; one with no whole form on its pieces, as a user asking for it (pieces=True) gets them.
"""
from __future__ import annotations

import numpy as np

from ..errors import MotionLexError

# A natural keyword query per procedural primitive.
PRIMITIVE_QUERIES = {
    "walk": "walk", "jog": "jog", "run": "run", "walk_backwards": "walk backwards",
    "side_step_left": "side step left", "side_step_right": "side step right",
    "turn_left": "turn left", "turn_right": "turn right", "jump_in_place": "jump in place",
    "jump_forward": "jump forward", "squat": "squat", "kick_left": "kick left leg", "kick_right": "kick right leg",
    "punch_left": "punch left arm", "punch_right": "punch right arm", "wave_left": "wave left hand",
    "wave_right": "wave right hand", "wave_both": "wave both hands", "raise_left": "raise left arm",
    "raise_right": "raise right arm", "raise_both": "raise both arms", "clap": "clap", "bow": "bow",
    "jumping_jacks": "jumping jacks", "sit_down_stand_up": "sit down stand up", "look_around": "look around",
}
NEGATIVE_QUERIES = {"wave -left": ("wave", "left"), "raise -right": ("raise", "right"), "kick -left": ("kick", "left")}
OPPOSITE = {"left": "right", "right": "left"}


def actions_of(label: dict | None) -> set[str]:
    """What a clip performs: its procedural primitives, or its Bandai content."""
    if not label:
        return set()
    if "content" in label:
        return {label["content"]}
    return set(label.get("primitives") or [])


def query_evaluation(service, dataset, split: str, k: int = 5) -> dict:
    library = service.library(dataset.subset(split))
    clips = dataset.split(split)
    performs = {c.id: actions_of(c.label) for c in clips}
    if all("content" in (c.label or {}) for c in clips):
        queries = {content: content.replace("-", " ") for content in sorted(set().union(*performs.values()))}
    else:
        present = set().union(*performs.values())
        queries = {p: q for p, q in PRIMITIVE_QUERIES.items() if p in present}
    precision, gaps = {}, {}
    for action, query in queries.items():
        hits = _hits(service, library, query, len(clips))
        precision[query] = round(100.0 * sum(action in performs[h["id"]] for h in hits[:k]) / k, 2)
        mirrored = _mirror(action)
        if mirrored in queries:
            scores = {h["id"]: h["score"] for h in hits}
            own = [scores.get(c, 0.0) for c, acts in performs.items() if action in acts and mirrored not in acts]
            other = [scores.get(c, 0.0) for c, acts in performs.items() if mirrored in acts and action not in acts]
            if own and other:
                gaps[query] = round(float(np.mean(own) - np.mean(other)), 4)
    return {"k": k, "keyword_precision": round(float(np.mean(list(precision.values()))), 2),
            "keyword_precision_min": min(precision.values()), "per_query": precision,
            "side_gap": gaps, "side_gap_min": min(gaps.values()) if gaps else None,
            "negatives": _negatives(service, library, performs, k)}


def _negatives(service, library, performs: dict, k: int) -> dict:
    out = {}
    for query, (action, excluded) in NEGATIVE_QUERIES.items():
        try:
            hits = _hits(service, library, query, 50)
        except MotionLexError as err:
            out[query] = {"hits": 0, "excluded_in_top": None, "message": str(err)}
            continue
        side_of = [_side_in(performs[h["id"]], action) for h in hits[:k]]
        out[query] = {"hits": len(hits), "excluded_in_top": sum(s == excluded for s in side_of)}
    return out


def _hits(service, library, query: str, k: int) -> list[dict]:
    return service.search(library, query, keywords=True, k=k, pieces=True)["hits"]


def _mirror(action: str) -> str | None:
    for side, other in OPPOSITE.items():
        if action.endswith(("_" + side, "-" + side)) or f"-{side}-" in action:
            return action.replace(side, other)
    return None


def _side_in(actions: set[str], verb: str) -> str | None:
    """The side of the first action with that verb: 'wave_left' or 'wave-left-hand' -> 'left'."""
    for act in sorted(actions):
        if act.startswith(verb):
            for side in ("both", "left", "right"):
                if side in act:
                    return side
    return None
