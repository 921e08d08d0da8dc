"""Draw a clip's recipe (primitives, modifiers, style) and build its Track; words -> numbers here."""
from __future__ import annotations

import numpy as np

from engine.skeleton import FPS

from .compose import concat, hold
from .primitives import PRIMITIVES, REGISTRY
from .track import Params, Track, neutral_pose

MIN_FRAMES, MAX_FRAMES = 40, 200
SPEEDS = {"slow": 0.7, "normal": 1.0, "fast": 1.4}
AMPLITUDES = {"slight": 0.6, "normal": 1.0, "high": 1.3}
# style -> (speed factor, amplitude factor, slump in radians)
STYLES = {"neutral": (1.0, 1.0, 0.0), "energetic": (1.2, 1.15, 0.0), "tired": (0.75, 0.85, 0.3),
          "happy": (1.1, 1.1, -0.05)}
DIRECTIONS = ("forward", "forward", "forward", "diagonal_left", "diagonal_right", "circle_left", "circle_right")
COMPOSITION_RATE = 0.3


def _pick(rng: np.random.Generator, options, weights=None):
    if weights is not None:
        weights = np.asarray(weights, float) / np.sum(weights)
    return options[int(rng.choice(len(options), p=weights))]


def sample_part(rng: np.random.Generator, name: str, style: str, short: bool) -> dict:
    prim = REGISTRY[name]
    speeds = [s for s in SPEEDS if not (style == "tired" and s == "fast") and not (style == "energetic" and s == "slow")]
    part = {"primitive": name, "side": prim.side,
            "speed": _pick(rng, speeds, [3 if s == "normal" else 1 for s in speeds]),
            "amplitude": _pick(rng, prim.amplitude_words, [3 if a == "normal" else 1 for a in prim.amplitude_words]),
            "reps": None, "direction": None, "in_place": None, "turn_deg": None, "first": None,
            "duration_s": None}
    if prim.kind in ("gait", "backward", "duration", "turn"):
        lo, hi = {"gait": (3.0, 7.0), "backward": (3.0, 6.0), "duration": (2.0, 4.5), "turn": (3.5, 5.5)}[prim.kind]
        if short:  # the two parts of a composition share the 10 s limit
            hi = lo + 0.3 * (hi - lo)
        part["duration_s"] = round(float(rng.uniform(lo, hi)), 2)
    if prim.kind == "gait":
        part["direction"] = _pick(rng, DIRECTIONS)
    if prim.kind in ("reps", "steps"):
        part["reps"] = int(rng.integers(1, (2 if short else prim.max_reps) + 1))
    if prim.kind == "turn":
        part["in_place"] = bool(rng.random() < 0.5)
        part["turn_deg"] = int(rng.integers(7, 13) * 10)
    if prim.kind == "look":
        part["first"] = _pick(rng, ("left", "right"))
    return part


def sample_spec(rng: np.random.Generator) -> dict:
    style = _pick(rng, tuple(STYLES), [4, 1, 1, 1])
    names = [_pick(rng, PRIMITIVES)]
    if rng.random() < COMPOSITION_RATE:
        names.append(_pick(rng, [n for n in PRIMITIVES if n != names[0]]))
    parts = [sample_part(rng, n, style, short=len(names) > 1) for n in names]
    return {"style": style, "parts": parts}


def params_for(part: dict, style: str, rng: np.random.Generator) -> Params:
    speed, amp, slump = STYLES[style]
    return Params(speed=SPEEDS[part["speed"]] * speed, amplitude=AMPLITUDES[part["amplitude"]] * amp,
                  reps=part["reps"] or 1, duration=part["duration_s"] or 3.0,
                  direction=part["direction"] or "forward", in_place=bool(part["in_place"]),
                  turn=np.radians(part["turn_deg"] or 90), slump=slump,
                  first=1 if part["first"] != "right" else -1, rng=rng)


def _shorten(spec: dict) -> bool:
    """Make the longest-lasting part shorter (fewer repetitions or seconds); False when nothing is left."""
    for part in sorted(spec["parts"], key=lambda q: -(q["reps"] or 0) - (q["duration_s"] or 0)):
        if (part["reps"] or 0) > 1:
            part["reps"] -= 1
            return True
        if (part["duration_s"] or 0) > 2.5:
            part["duration_s"] = round(part["duration_s"] * 0.8, 2)
            return True
    return False


def build_track(spec: dict, rng: np.random.Generator) -> Track:
    """Build the parts, join them, fit the clip into MIN_FRAMES..MAX_FRAMES (the spec is edited to match)."""
    while True:
        tracks = [REGISTRY[q["primitive"]].build(params_for(q, spec["style"], rng)) for q in spec["parts"]]
        track = tracks[0]
        for nxt in tracks[1:]:
            track = concat(track, nxt)
        if track.frames <= MAX_FRAMES:
            break
        if not _shorten(spec):
            if len(spec["parts"]) > 1:
                spec["parts"] = spec["parts"][:1]
                continue
            raise AssertionError(f"{spec} cannot fit in {MAX_FRAMES} frames")
    if track.frames < MIN_FRAMES:
        rest = neutral_pose(1, params_for(spec["parts"][-1], spec["style"], rng))[0]
        track = hold(track, MIN_FRAMES - track.frames + int(rng.integers(0, int(FPS))), rest)
    return track
