"""The registry: every primitive's builder, the modifiers that make sense for it, and its body side."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import arms, legs, locomotion, whole_body
from .track import Params, Track

LEFT, RIGHT, BOTH = 1, -1, 0


@dataclass(frozen=True)
class Primitive:
    name: str
    build: Callable[[Params], Track]
    kind: str             # gait | backward | steps | turn | reps | duration | once | look
    side: str | None      # "left", "right", "both" or None: the side a caption must name
    amplitude_words: tuple[str, ...] = ("normal",)  # which of slight/normal/high it accepts
    max_reps: int = 3


_ALL = (
    Primitive("walk", locomotion.walk, "gait", None, ("slight", "normal", "high")),
    Primitive("jog", locomotion.jog, "gait", None),
    Primitive("run", locomotion.run, "gait", None),
    Primitive("walk_backwards", locomotion.walk_backwards, "backward", None),
    Primitive("side_step_left", locomotion.side_step_left, "steps", "left", max_reps=4),
    Primitive("side_step_right", locomotion.side_step_right, "steps", "right", max_reps=4),
    Primitive("turn_left", locomotion.turn_left, "turn", "left"),
    Primitive("turn_right", locomotion.turn_right, "turn", "right"),
    Primitive("jump_in_place", legs.jump_in_place, "reps", None, ("slight", "normal", "high"), 4),
    Primitive("jump_forward", legs.jump_forward, "reps", None, ("normal", "high"), 3),
    Primitive("squat", legs.squat, "reps", None, ("slight", "normal", "high")),
    Primitive("kick_left", legs.kick_left, "reps", "left", ("slight", "normal", "high")),
    Primitive("kick_right", legs.kick_right, "reps", "right", ("slight", "normal", "high")),
    Primitive("punch_left", lambda p: arms.punch(p, LEFT), "reps", "left", max_reps=4),
    Primitive("punch_right", lambda p: arms.punch(p, RIGHT), "reps", "right", max_reps=4),
    Primitive("wave_left", lambda p: arms.wave(p, (LEFT,)), "duration", "left", ("slight", "normal")),
    Primitive("wave_right", lambda p: arms.wave(p, (RIGHT,)), "duration", "right", ("slight", "normal")),
    Primitive("wave_both", lambda p: arms.wave(p, (LEFT, RIGHT)), "duration", "both", ("slight", "normal")),
    Primitive("raise_left", lambda p: arms.raise_arm(p, (LEFT,)), "reps", "left", ("slight", "normal")),
    Primitive("raise_right", lambda p: arms.raise_arm(p, (RIGHT,)), "reps", "right", ("slight", "normal")),
    Primitive("raise_both", lambda p: arms.raise_arm(p, (LEFT, RIGHT)), "reps", "both", ("slight", "normal")),
    Primitive("clap", arms.clap, "reps", None, max_reps=6),
    Primitive("bow", whole_body.bow, "reps", None, ("slight", "normal", "high"), 2),
    Primitive("jumping_jacks", whole_body.jumping_jacks, "reps", None, max_reps=5),
    Primitive("sit_down_stand_up", legs.sit_down_stand_up, "once", None),
    Primitive("look_around", whole_body.look_around, "look", None),
)

REGISTRY: dict[str, Primitive] = {p.name: p for p in _ALL}
PRIMITIVES: tuple[str, ...] = tuple(REGISTRY)
