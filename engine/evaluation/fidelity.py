"""Term fidelity: does a motion's lexical vector weigh the words its label says above the wrong ones?

This is the readable check of an interpretable model: a take labelled "raise up left hand" should
weigh `left` above `right`, and `raise` above `walk`, `run` and `wave`.
"""
from __future__ import annotations

import collections

import numpy as np

from ..data.procedural.captions import gerund, third_person
from ..vocab import Vocabulary

SIDES = ("left", "right")
# The content word a label's action should activate; walk-turn takes are judged on "turn".
ACTION_WORD = {"walk": "walk", "walk-turn": "turn", "turn": "turn", "run": "run", "jog": "jog", "wave": "wave",
               "raise": "raise", "kick": "kick", "punch": "punch", "jump": "jump", "squat": "squat",
               "clap": "clap", "bow": "bow", "sit": "sit", "look": "look"}


def label_side(label: dict | None) -> str | None:
    """left / right / both from a Bandai label ('side') or a one-primitive procedural label ('sides')."""
    if not label:
        return None
    if "side" in label:
        return label["side"]
    sides = label.get("sides") or []
    if len(label.get("primitives", [])) == 1 and len(sides) == 1:
        return sides[0]
    return None


def label_action(label: dict | None) -> str | None:
    """The action of a Bandai label, or of a one-primitive procedural label ('wave_left' -> 'wave')."""
    if not label:
        return None
    if "action" in label:
        return label["action"]
    primitives = label.get("primitives") or []
    return primitives[0].split("_")[0] if len(primitives) == 1 else None


def side_fidelity(vectors: np.ndarray, sides: list[str | None], vocab: Vocabulary) -> dict:
    """Left/right takes: share with p[own side] > p[other side]; 'both' takes: p[both] > max(left, right)."""
    left, right, both = (vocab.id(w) for w in ("left", "right", "both"))
    hits = {"left": [], "right": [], "both": []}
    for vec, side in zip(vectors, sides):
        if side in SIDES:
            own, other = (left, right) if side == "left" else (right, left)
            hits[side].append(vec[own] > vec[other])
        elif side == "both":
            hits["both"].append(vec[both] > max(vec[left], vec[right]))
    lr = hits["left"] + hits["right"]
    return {
        "side": _percent(lr), "left": _percent(hits["left"]), "right": _percent(hits["right"]),
        "both": _percent(hits["both"]), "n_sided": len(lr), "n_both": len(hits["both"]),
    }


def word_forms(word: str, vocab: Vocabulary) -> list[int]:
    """Ids of the forms of an action verb the vocabulary holds whole: base, third person, -ing ("sit", "sits",
    "sitting"). Captions say "a person sits down", so a motion's vector names the action as "sits" as often as
    "sit"; a word-piece form ("jog" is split, "jogging" is whole) is not a term to weigh."""
    ids = {vocab.id(form) for form in (word, third_person(word), gerund(word))}
    return sorted(i for i in ids if i is not None)


def content_fidelity(vectors: np.ndarray, actions: list[str | None], vocab: Vocabulary,
                     groups: list[str | None] | None = None) -> dict:
    """Share of takes whose own action word outweighs every other action word present in the set; with
    `groups` (e.g. Bandai's contents) the share per group too ("per_group"); "confusions": how often which word
    beat the right one ("turn -> walk": a walk-turn weighing "walk" the most), most frequent first.

    An action word's weight is the largest over its forms (word_forms: "sit", "sits", "sitting")."""
    words = sorted({ACTION_WORD[a] for a in actions if a in ACTION_WORD and word_forms(ACTION_WORD[a], vocab)})
    forms = [word_forms(w, vocab) for w in words]
    hits, per_word, per_group, confusions = [], {w: [] for w in words}, {}, collections.Counter()
    for i, (vec, action) in enumerate(zip(vectors, actions)):
        word = ACTION_WORD.get(action)
        if word not in per_word:
            continue
        weights = np.array([vec[f].max() for f in forms])
        winner = words[int(np.argmax(weights))] if weights.max() > 0 else None
        hits.append(winner == word)
        if winner != word:
            confusions[f"{word} -> {winner or 'nothing'}"] += 1
        per_word[word].append(winner == word)
        if groups is not None and groups[i] is not None:
            per_group.setdefault(groups[i], []).append(winner == word)
    out = {"content": _percent(hits), "n": len(hits),
           "per_word": {w: _percent(h) for w, h in per_word.items()}, "confusions": dict(confusions.most_common())}
    if per_group:
        out["per_group"] = {g: _percent(h) for g, h in sorted(per_group.items())}
    return out


def _percent(flags: list) -> float | None:
    return round(100.0 * float(np.mean(flags)), 2) if flags else None
