"""Captions from category labels: templates with real variety, deterministic per clip id.

A label is {"action", "side", "style"} (Bandai's content and style categories). Each action has
6 phrasings; a style shows up as an adjective on the subject ("an elderly person ..."), as an
adverb ("... slowly", "... in a feminine way") or both. The side (left / right / both) is part of
every caption of a sided action, written exactly: a caption never drops or swaps it, since
left/right is the fine-grained semantics the model is meant to learn.
"""
from __future__ import annotations

import hashlib
import random

# {s}: subject, {pre}: " adverb" before the verb, {post}: ", adverb phrase" or " adverb" at the end,
# {dir}: left/right, {their}: "their left hand" | "both hands", {the}: "the left hand" | "both hands".
TEMPLATES: dict[str, tuple[str, ...]] = {
    "walk": (
        "{s}{pre} walks forward{post}", "{s} is walking straight ahead{post}",
        "{s}{pre} takes several steps forward{post}", "{s}{pre} walks in a straight line{post}",
        "{s}{pre} strolls forward{post}", "{s}{pre} walks a few steps{post}",
    ),
    "walk-turn": (
        "{s}{pre} walks and turns {dir}{post}", "{s}{pre} walks forward, then turns to the {dir}{post}",
        "{s}{pre} walks and makes a {dir} turn{post}", "{s}{pre} turns {dir} while walking{post}",
        "{s}{pre} walks, turning towards the {dir}{post}", "{s}{pre} walks in a curve to the {dir}{post}",
    ),
    "run": (
        "{s}{pre} runs forward{post}", "{s} is running straight ahead{post}", "{s}{pre} jogs forward{post}",
        "{s}{pre} runs in a straight line{post}", "{s}{pre} runs a few steps{post}",
        "{s}{pre} breaks into a run{post}",
    ),
    "wave": (
        "{s}{pre} waves {their}{post}", "{s}{pre} waves with {the}{post}", "{s} is waving {their}{post}",
        "{s}{pre} waves hello with {the}{post}", "{s}{pre} greets others by waving {their}{post}",
        "{s}{pre} lifts {their} and waves{post}",
    ),
    "raise": (
        "{s}{pre} raises {their}{post}", "{s}{pre} lifts {the} up{post}", "{s} is raising {their}{post}",
        "{s}{pre} puts {their} up in the air{post}", "{s}{pre} raises {the} above the head{post}",
        "{s}{pre} holds {their} up high{post}",
    ),
}

# style -> (subjects carrying the style, one-word adverbs, adverb phrases)
STYLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "active": (("an energetic person", "an active person", "a lively person"),
               ("energetically", "briskly"), ("with a lot of energy", "in an active way")),
    "elderly": (("an elderly person", "an old person", "an older person"),
                ("slowly", "stiffly"), ("like an old person", "in an elderly manner")),
    "exhausted": (("a tired person", "an exhausted person", "a worn-out person"),
                  ("wearily", "tiredly"), ("as if exhausted", "in an exhausted way")),
    "feminine": (("a feminine person", "a person with feminine movements"),
                 ("gracefully", "delicately"), ("in a feminine way", "in a feminine manner")),
    "masculine": (("a masculine person", "a person with masculine movements"),
                  ("firmly", "sturdily"), ("in a masculine way", "in a masculine manner")),
    "normal": (("a person", "someone", "an individual", "a human"),
               ("calmly", "normally"), ("in an ordinary way", "in a normal way")),
    "youthful": (("a young person", "a youthful person", "a teenager"),
                 ("spryly", "bouncily"), ("in a youthful way", "like a young person")),
}
NEUTRAL_SUBJECTS = ("a person", "someone", "a figure", "the person")

ACTIONS = ("walk-turn", "walk", "run", "wave", "raise")


def parse_content(content: str) -> tuple[str, str | None]:
    """Bandai content -> (action, side): "raise-up-left-hand" -> ("raise", "left")."""
    side = next((s for s in ("left", "right", "both") if s in content.split("-")), None)
    action = next((a for a in ACTIONS if content.startswith(a)), content)
    return action, side


def hand_phrases(side: str | None) -> tuple[str, str]:
    """({their}, {the}) for a sided arm action; both hands stay plural, one side stays named."""
    if side == "both":
        return "both hands", "both hands"
    if side in ("left", "right"):
        return f"their {side} hand", f"the {side} hand"
    return "their hand", "a hand"


def render(template: str, action: str, side: str | None, style: str | None, rng: random.Random) -> str:
    subjects, adverbs, phrases = STYLES.get(style or "normal", STYLES["normal"])
    mode = rng.choice(("adjective", "adverb", "phrase", "both"))
    if mode in ("adverb", "phrase"):
        subject = rng.choice(NEUTRAL_SUBJECTS)
    else:
        subject = rng.choice(subjects)
    pre = post = ""
    if mode in ("adverb", "both"):
        word = rng.choice(adverbs)
        if "{pre}" in template and rng.random() < 0.5:
            pre = " " + word
        else:
            post = " " + word
    elif mode == "phrase":
        post = (", " if rng.random() < 0.5 else " ") + rng.choice(phrases)
    their, the = hand_phrases(side)
    text = template.format(s=subject, pre=pre, post=post, dir=side or "", their=their, the=the)
    return " ".join(text.split())


def seeded_rng(clip_id: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(clip_id.encode()).digest()[:8], "big"))


def captions_for(label: dict, clip_id: str, n: int = 3) -> list[str]:
    """n distinct captions for a label, the same ones every time for the same clip id."""
    action = label.get("action") or parse_content(label.get("content", ""))[0]
    side = label.get("side")
    templates = TEMPLATES.get(action)
    if templates is None:
        return [label.get("content", action).replace("-", " ")]
    rng = seeded_rng(clip_id)
    chosen = rng.sample(templates, k=min(n, len(templates)))
    return [render(t, action, side, label.get("style"), rng) for t in chosen]


def bandai_label(content: str, style: str) -> dict:
    action, side = parse_content(content)
    return {"content": content, "style": style, "side": side, "action": action}
