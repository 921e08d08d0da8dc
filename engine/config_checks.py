"""The rules every training-phase config section shares, in one place: engine/config.py's PhaseConfig (the
lexical phases, dense, evaluator) and engine/config_generation.py's generator and SoPo sections both call them,
so a schedule or a weight is valid by the same test wherever it is set.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Callable

from .errors import SpecError


def check_phase_section(section, non_negative: Callable[[str], bool]) -> None:
    """Raise SpecError unless the frozen phase-config dataclass `section` has batch_size >= 1, steps and
    warmup_steps >= 0, steps > 0 or epochs > 0, every field with "mask" in its name in [0, 1] (a ratio) and
    every field `non_negative(name)` picks (learning rates, loss weights, ...) >= 0."""
    name = type(section).__name__
    if section.batch_size < 1 or section.steps < 0 or section.warmup_steps < 0:
        raise SpecError(f"{name}: batch_size must be >= 1, steps and warmup_steps >= 0")
    if section.steps == 0 and section.epochs <= 0:
        raise SpecError(f"{name}: set steps > 0 or epochs > 0")
    for f in fields(section):
        value = getattr(section, f.name)
        if "mask" in f.name and not 0.0 <= value <= 1.0:
            raise SpecError(f"{name}.{f.name} is a ratio in [0, 1], got {value}")
        if non_negative(f.name) and value < 0:
            raise SpecError(f"{name}.{f.name} must be >= 0, got {value}")


def phase_total_steps(section, n_items: int) -> int:
    """`section.steps` when > 0, else its epochs over n_items in batches of batch_size (at least 1 step)."""
    if section.steps > 0:
        return section.steps
    per_epoch = max(1, -(-n_items // section.batch_size))
    return max(1, round(section.epochs * per_epoch))
