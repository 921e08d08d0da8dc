"""Writing generator checkpoints (layout and reading: engine/generator_checkpoint.py).

As for the lexical checkpoints (train/checkpoint.py): every file is written atomically under a new name and
the manifest last, so a crash at any moment leaves the previous checkpoint loadable; files the new manifest
does not name are removed after it lands. A failed write raises CheckpointWriteError (one line for the CLI).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from safetensors.torch import save

from ..atomic import atomic_write, atomic_write_bytes, atomic_write_json
from ..config import Config, to_dict
from ..generator_checkpoint import FORMAT, MANIFEST
from .checkpoint import CheckpointWriteError, package_versions


def save_generator(directory: str | Path, model, normalizer, cfg: Config, *, variant: str, phase: str, step: int,
                   total_steps: int, complete: bool, lexical: dict, reference: dict | None = None,
                   train_frames: int, data_fingerprint: str | None = None, metrics: dict | None = None,
                   train_state: dict | None = None, extra: dict | None = None) -> Path:
    """`model` is a TextToMotion; `lexical` = {"path", "weights_hash"} of the condition's lexical model;
    `reference` the same for SoPo/DPO's frozen reference generator."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CheckpointWriteError(f"{directory}: cannot make the checkpoint folder ({err.strerror or err})",
                                   err.errno) from None
    for pattern in (".generator-*.safetensors.*.tmp", ".train_state-*.pt.*.tmp", f".{MANIFEST}.*.tmp",
                    ".config.json.*.tmp"):   # a killed writer's leftovers (atomic_write's temporary names)
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)
    tag = f"{phase}-s{step:07d}-{time.time_ns() % 10**9:09d}"
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    weights = f"generator-{tag}.safetensors"
    state_name = None if train_state is None else f"train_state-{tag}.pt"
    manifest = {
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
        "weights": weights,
        "train_state": state_name,
        **(extra or {}),
    }
    try:
        atomic_write_bytes(directory / weights, save(tensors, metadata={"format": FORMAT}))
        if train_state is not None:
            atomic_write(directory / state_name, lambda handle: torch.save(train_state, handle))
        atomic_write_json(directory / MANIFEST, manifest)   # the commit point
    except OSError as err:   # e.g. a full disk: the old manifest still names the old, complete files
        for name in (weights, state_name):
            if name:
                (directory / name).unlink(missing_ok=True)
        raise CheckpointWriteError(f"{directory}: cannot write the generator checkpoint of step {step} "
                                   f"({err.strerror or err}); the previous checkpoint there is intact",
                                   err.errno) from None
    try:
        atomic_write_json(directory / "config.json", to_dict(cfg))
    except OSError as err:
        raise CheckpointWriteError(f"{directory}: the checkpoint of step {step} is saved, but config.json beside "
                                   f"it could not be written ({err.strerror or err})", err.errno) from None
    for pattern in ("generator-*.safetensors", "train_state-*.pt"):
        for path in directory.glob(pattern):
            if path.name not in (weights, state_name):
                path.unlink(missing_ok=True)
    return directory
