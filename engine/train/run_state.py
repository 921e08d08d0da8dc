"""What a run folder's phases share: the data windows they read and the metrics log they resume.

Used by the lexical phases (train/run.py) and the generation phases (train/generation_run.py) alike.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ..atomic import atomic_write_bytes
from ..config import Config


def window_data_config(config: Config):
    """Windows never exceed what the motion encoder's temporal table covers."""
    return replace(config.data, max_frames=min(config.data.max_frames, config.model.max_frames))


def truncate_metrics(path: Path, phase: str, step: int) -> None:
    """Drop records logged after the checkpoint we resume from (they will be logged again)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("phase") == phase and record.get("step", 0) > step:
            continue
        keep.append(line)
    atomic_write_bytes(path, ("\n".join(keep) + "\n" if keep else "").encode())
