"""Write several paraphrased captions for a clip from its recipe; sides always come from the label."""
from __future__ import annotations

import numpy as np

from . import phrases as W

_DOUBLE_FINAL = ("run", "sit", "jog", "clap", "step", "squat", "put", "jab", "hop", "get", "stop")


PRE_ADVERBS = ("slowly", "quickly", "rapidly")


def third_person(verb: str) -> str:
    if verb in ("do", "go"):
        return verb + "es"
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def gerund(verb: str) -> str:
    if verb.endswith(_DOUBLE_FINAL):
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


def inflect(pred: str, form: str) -> str:
    """Put a predicate's verbs (its first word after a leading adverb, and ^-marked words) in a form:
    'base' (walk), 'third' (walks) or 'ing' (walking)."""
    words = pred.split()
    first = 1 if words[0] in PRE_ADVERBS else 0
    fn = {"base": lambda v: v, "third": third_person, "ing": gerund}[form]
    out = []
    for i, word in enumerate(words):
        if i == first or word.startswith("^"):
            core = word.lstrip("^").rstrip(",.")
            word = fn(core) + word.lstrip("^")[len(core):]
        out.append(word)
    return " ".join(out)


def _choice(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def predicate(part: dict, rng: np.random.Generator, poss: str, self_: str, style_adverb: str | None) -> str:
    """One part's verb phrase in base form, with its modifiers (speed, amplitude, count, style)."""
    name, reps = part["primitive"], part["reps"]
    amp_words = W.AMPLITUDE.get(W.AMPLITUDE_GROUP.get(name, ""), {}).get(part["amplitude"], ("",))
    counted = reps is not None and reps > 1 and name in W.COUNTED and rng.random() < 0.4
    if counted:
        phrase = _choice(rng, W.COUNTED[name]).replace("{n}", W.NUMBERS[reps])
    elif name.startswith("turn_"):
        options = W.TURN_IN_PLACE if part["in_place"] else W.TURN_WALKING
        if part["in_place"] and 80 <= part["turn_deg"] <= 100:
            options = options + W.QUARTER_TURN
        phrase = _choice(rng, options)
    else:
        phrase = _choice(rng, W.VERBS[name])
    amp = _choice(rng, amp_words)
    phrase = phrase + amp if "{amp}" not in phrase else phrase.replace("{amp}", amp)
    if part["direction"]:
        phrase = phrase.replace("{dir}", _choice(rng, W.DIRECTIONS[part["direction"]]))
    first = part["first"] or "left"
    phrase = phrase.format(poss=poss, self=self_, side=part["side"] or "", dir="", deg=part["turn_deg"],
                           first=first, second="right" if first == "left" else "left")
    tail = []
    if reps is not None and not counted and (reps > 1 or rng.random() < 0.3):
        tail.append(_choice(rng, W.COUNTS[reps]))
    pre = ""
    if part["speed"] != "normal":
        if rng.random() < 0.3:
            pre = _choice(rng, W.SPEED_PRE[part["speed"]]) + " "
        else:
            tail.append(_choice(rng, W.SPEED_ADVERBS[part["speed"]]))
    if style_adverb:
        tail.append(style_adverb)
    if len(tail) > 1 and rng.random() < 0.5:
        tail[-2:] = [f"{tail[-2]} and {tail[-1]}"] if tail[-1].endswith("ly") and tail[-2].endswith("ly") else tail[-2:]
    return pre + " ".join([phrase] + tail)


def caption(spec: dict, rng: np.random.Generator) -> str:
    subject, poss, self_, noun = _choice(rng, W.SUBJECTS)
    style = spec["style"]
    style_adverb = None
    if style != "neutral":
        if noun and rng.random() < 0.5:
            adj = _choice(rng, W.STYLE_ADJECTIVES[style])
            subject = f"{'an' if adj[0] in 'aeiou' else 'a'} {adj} {noun}"
        else:
            style_adverb = _choice(rng, W.STYLE_ADVERBS[style])
    parts = spec["parts"]
    # the style adverb goes on one part only, so the sentence does not repeat it
    adverb_on = int(rng.integers(len(parts)))
    preds = [predicate(q, rng, poss, self_, style_adverb if i == adverb_on else None) for i, q in enumerate(parts)]
    form = "base" if subject == "" else "third"
    if len(preds) == 1:
        text = f"{subject} {inflect(preds[0], form)}"
    else:
        conn = _choice(rng, W.CONNECTORS)
        if conn.startswith("after"):
            text = f"after {inflect(preds[0], 'ing')}, {subject} {inflect(preds[1], form)}"
        else:
            text = subject + " " + conn.format(a=inflect(preds[0], form), b=inflect(preds[1], form),
                                               b_ing=inflect(preds[1], "ing"))
    return " ".join(text.split()).replace(" ,", ",") + "."


def captions(spec: dict, rng: np.random.Generator, count: int = 4) -> list[str]:
    """`count` distinct captions (at least 3), trying a bounded number of draws."""
    out: list[str] = []
    for _ in range(40):
        text = caption(spec, rng)
        if text not in out:
            out.append(text)
        if len(out) == count:
            break
    return out
