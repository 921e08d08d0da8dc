"""Writing generator checkpoints (layout and reading: engine/generator_checkpoint.py).

As for the lexical checkpoints, and through the same steps (train/checkpoint.write_checkpoint_files): every
file is written atomically under a new name and the manifest last, so a crash at any moment leaves the previous
checkpoint loadable; files the new manifest does not name are removed after it lands. A failed write raises
CheckpointWriteError (one line for the CLI).
"""
from __future__ import annotations

import time
from pathlib import Path

from ..config import Config, to_dict
from ..generator_checkpoint import FORMAT
from .checkpoint import package_versions, write_checkpoint_files


def save_generator(directory: str | Path, model, normalizer, cfg: Config, *, variant: str, phase: str, step: int,
                   total_steps: int, complete: bool, lexical: dict, reference: dict | None = None,
                   train_frames: int, data_fingerprint: str | None = None, metrics: dict | None = None,
                   train_state: dict | None = None, extra: dict | None = None) -> Path:
    """`model` is a TextToMotion; `lexical` = {"path", "weights_hash"} of the condition's lexical model;
    `reference` the same for SoPo/DPO's frozen reference generator."""
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}

    described = {   # the manifest but its file names, made before anything is written
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "variant": variant,
        "phase": phase,
        "condition": cfg.generator.condition,
        "config": to_dict(cfg),
        "normalizer": normalizer.to_dict(),
        "lexical": dict(lexical),
        "reference": dict(reference) if reference else None,
        "train_frames": int(train_frames),
        "step": int(step),
        "total_steps": int(total_steps),
        "complete": bool(complete),
        "data_fingerprint": data_fingerprint,
        "metrics": metrics or {},
        "versions": package_versions(),
    }

    def manifest(weights: str, state_name: str | None) -> dict:
        return {**described, "weights": weights, "train_state": state_name, **(extra or {})}

    return write_checkpoint_files(directory, cfg, weights_prefix="generator", weights_format=FORMAT, label=phase,
                                  step=step, tensors=tensors, train_state=train_state, manifest=manifest,
                                  what="generator checkpoint")
