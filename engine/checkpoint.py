"""Checkpoints as serving and training both read them: the manifest, the model, its stored weights.

A checkpoint folder holds
    manifest.json                 the commit point: config, phases done, step, data fingerprint,
                                  metrics, package versions, base text-model hash, file names
    model-<tag>.safetensors       trained weights only (frozen base weights are re-loaded from
                                  the base model, whose hash the manifest records)
    train_state-<tag>.pt          (training runs only) optimizer, step and RNG states
Writing lives with training (engine/train/checkpoint.py); this module only reads, so the service that
answers requests never imports the trainer. Weights are read from safetensors only and the manifest is
checked before anything is built from it.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from .config import Config, from_dict
from .errors import InputError

FORMAT = "motionlex-checkpoint-1"
MANIFEST = "manifest.json"
_REQUIRED = {"config": dict, "weights": str, "base_text_hash": str}
MAX_MANIFEST_BYTES = 16 * 2 ** 20   # a manifest is a few kB (metrics included); refuse anything absurd unread


def build_model(cfg: Config, lexicon_texts=None):
    """A fresh model (base text weights loaded); remembers which weights are base-frozen.

    The phases toggle requires_grad to train parts of the model, so the frozen set that decides what
    a checkpoint skips is taken once here, before any phase runs.
    """
    from .models.lexical_model import LexicalMotionLanguageModel
    model = LexicalMotionLanguageModel(cfg.model, lexicon_texts)
    model.base_frozen = frozenset(model.frozen_parameter_names())
    return model


def frozen_names(model) -> set[str]:
    base = getattr(model, "base_frozen", None)
    return set(base) if base is not None else set(model.frozen_parameter_names())



def base_text_hash(cfg: Config) -> str:
    """sha256 of the base text model's weights file (what the skipped weights are re-loaded from)."""
    from .models.text_encoder import base_model_hash
    return base_model_hash(cfg.model.text_model_path)



# --------------------------------------------------------------------------------------------
def read_manifest(directory: str | Path) -> dict:
    return validated_manifest(directory, FORMAT, _REQUIRED, "checkpoint")


def validated_manifest(directory: str | Path, fmt: str, required: dict, what: str) -> dict:
    """A folder's manifest.json, checked before anything is built from it: size, JSON, `format` == fmt, the
    `required` keys' types, and a weights name that is a .safetensors file inside the folder. `what` names
    the kind of folder in the messages ("checkpoint", "generator")."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise InputError(directory, f"not a {what} folder (no manifest.json)")
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise InputError(path, f"the manifest is {size / 2 ** 20:.0f} MB, more than a {what} manifest can be")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, RecursionError) as err:
        raise InputError(path, f"unreadable manifest: {type(err).__name__}: {str(err)[:200]}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise InputError(path, f"unknown {what} format {found!r} (expected {fmt!r}): not a {what} checkpoint")
    for key, kind in required.items():
        if not isinstance(manifest.get(key), kind):
            raise InputError(path, f"the manifest's {key!r} is missing or not a {kind.__name__}")
    weights = manifest["weights"]
    if Path(weights).name != weights or not weights.endswith(".safetensors"):
        raise InputError(path, f"the manifest names weights {weights!r}: expected a .safetensors file in the folder")
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
        from .models.lexicon import Lexicon
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
    omitted = tuple(manifest.get("omitted_prefixes") or ())   # parts an export left out as unused
    missing = {n for n in set(own) - set(tensors) if not (omitted and n.startswith(omitted))}
    missing = missing - set(manifest.get("aliases", {})) - frozen_names(model)
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
