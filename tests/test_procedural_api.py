"""Public API: determinism, parallel generation, captions that name the right side."""
from __future__ import annotations

import re

import numpy as np

from engine.data.procedural import PRIMITIVES, ProceduralClip, generate_clip, generate_library
from engine.data.procedural.captions import gerund, inflect, third_person
from engine.motion import Motion


def test_clips_are_a_pure_function_of_index_and_seed():
    a, b, c = generate_clip(17, 3), generate_clip(17, 3), generate_clip(17, 4)
    assert isinstance(a, ProceduralClip) and isinstance(a.motion, Motion) and a.id == "synth_000017"
    np.testing.assert_array_equal(a.motion.joints, b.motion.joints)
    assert a.captions == b.captions and a.label == b.label
    assert a.captions != c.captions or not np.array_equal(a.motion.joints, c.motion.joints)


def test_library_in_parallel_equals_one_by_one():
    par = generate_library(80, seed=5, workers=2)
    assert [c.id for c in par] == [f"synth_{i:06d}" for i in range(80)]
    for i in (0, 41, 79):
        np.testing.assert_array_equal(par[i].motion.joints, generate_clip(i, 5).motion.joints)
        assert par[i].captions == generate_clip(i, 5).captions


def _expected_sides(label: dict) -> set[str]:
    sides = set()
    for part in label["parts"]:
        if part["side"] in ("left", "right"):
            sides.add(part["side"])
        if part["direction"] and part["direction"].endswith(("left", "right")):
            sides.add(part["direction"].rsplit("_", 1)[1])
        if part["primitive"] == "look_around":
            sides |= {"left", "right"}
    return sides


def test_captions_are_varied_and_name_exactly_the_labelled_sides():
    clips = [generate_clip(i, 11) for i in range(400)]
    for c in clips:
        assert len(c.captions) >= 3 and len(set(c.captions)) == len(c.captions), c.id
        expected = _expected_sides(c.label)
        for text in c.captions:
            said = set(re.findall(r"\b(left|right)\b", text))
            assert said <= expected, (text, c.label)
            for part in c.label["parts"]:
                if part["side"] in ("left", "right"):
                    assert part["side"] in said, (text, part)
                if part["side"] == "both":
                    assert "both" in text
            assert "^" not in text and "{" not in text and "  " not in text
    subjects = {t.split()[0] + " " + t.split()[1] for c in clips for t in c.captions}
    assert {"a person", "someone walks", "a woman", "the man"} & subjects
    assert any(" then " in t or " before " in t or t.startswith("after") for c in clips for t in c.captions)
    assert {len(c.label["primitives"]) for c in clips} == {1, 2}
    assert {p for c in clips for p in c.label["primitives"]} == set(PRIMITIVES)


def test_verb_forms():
    assert [third_person(v) for v in ("walk", "punch", "do", "carry", "wave")] == \
        ["walks", "punches", "does", "carries", "waves"]
    assert [gerund(v) for v in ("run", "wave", "walk", "squat", "side-step")] == \
        ["running", "waving", "walking", "squatting", "side-stepping"]
    assert inflect("sit down and ^stand up", "third") == "sits down and stands up"
    assert inflect("slowly walk, turning left", "third") == "slowly walks, turning left"
