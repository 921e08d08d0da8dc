"""One item of a dataset: a motion (by reference) with its captions, label and split."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..skeleton import FPS

SPLITS = ("train", "val", "test")


@dataclass
class Clip:
    id: str
    captions: list[str]
    label: dict | None
    split: str                     # "train" | "val" | "test"
    source: str                    # the file (or generator) the motion comes from
    frames: int                    # at the canonical 20 fps, after any crop
    duration_s: float
    # A sub-clip (HumanML3D captions with start/end) crops its source to [start_s, end_s).
    start_s: float = 0.0
    end_s: float | None = None
    meta: dict = field(default_factory=dict)

    def key(self) -> list:
        """What the dataset fingerprint hashes: everything that would change training."""
        return [self.id, self.captions, self.label, self.split, self.source_name(), self.frames,
                round(self.start_s, 3), None if self.end_s is None else round(self.end_s, 3)]

    def source_name(self) -> str:
        # Only the file name: the same data in another folder keeps the same fingerprint.
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]


def resampled_frames(src_frames: int, src_fps: float) -> int:
    """Frames a motion has once resampled to 20 fps (the same arithmetic as motion.resample)."""
    if abs(src_fps - FPS) < 1e-6 or src_frames < 2:
        return src_frames
    return int(math.floor((src_frames - 1) / src_fps * FPS + 1e-9)) + 1
