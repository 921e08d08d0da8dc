"""The training phases, one module each (paper section 3.2) plus the dense CLIP-style baseline and the
generation evaluator (a dense model of its own). The generator phases (generator.py, sopo.py) have a loop of
their own (train/generation_loop.py) and are run by train/generation_run.py, not by `make_phase`."""
from __future__ import annotations

from ...config import TrainConfig
from ...errors import SpecError
from .base import Phase


def make_phase(name: str, cfg: TrainConfig) -> Phase:
    from .caption import CaptionTuning
    from .cmmm import CMMM
    from .dense import Dense
    from .evaluator import Evaluator
    from .lexcmlp import LexCMLP
    from .lexmlm import LexMLM
    from .lexmmm import LexMMM
    from .motion_align import MotionAlign
    classes = {c.name: c for c in (LexMLM, CMMM, LexMMM, LexCMLP, MotionAlign, CaptionTuning, Dense, Evaluator)}
    if name not in classes:
        raise SpecError(f"unknown phase {name!r}; expected one of {', '.join(classes)}")
    return classes[name](cfg)


__all__ = ["Phase", "make_phase"]
