"""Errors that carry a message meant for a person: the CLI prints them (exit 2), the app shows them."""
from __future__ import annotations

from pathlib import Path


class MotionLexError(Exception):
    """Base class: anything the user can fix (a bad file, a bad spec, a missing checkpoint)."""


class InputError(MotionLexError):
    """An input file is unusable. The message always names the file and the problem."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = str(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class SpecError(MotionLexError):
    """A dataset spec, config override or CLI argument that cannot be understood."""
