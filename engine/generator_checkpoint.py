"""Generator checkpoints as serving, evaluation and training read them.

A generator folder (<checkpoint>/generator, <checkpoint>/sopo, <checkpoint>/dpo_offline, ...) holds
    manifest.json             the commit point: format, variant, the full config (its `generator` section
                              builds the network), the Normalizer (mean/std of the training features), the
                              lexical checkpoint it was conditioned on (path and `condition_hash`), the
                              reference generator (SoPo/DPO), step, completeness, metrics, versions
    generator-<tag>.safetensors   every weight (the generator has no frozen part)
    train_state-<tag>.pt      (mid-phase only) optimiser, step and RNG states
Writing lives with training (engine/train/generator_checkpoint.py); this module only reads, so serving never
imports the trainer. The evaluator (<checkpoint>/evaluator) is an ordinary lexical-format checkpoint.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from .checkpoint import validated_manifest
from .errors import InputError

FORMAT = "motionlex-generator-1"
MANIFEST = "manifest.json"
_REQUIRED = {"config": dict, "weights": str, "normalizer": dict, "variant": str, "lexical": dict}


# What a generator's text condition (models/text_condition.py) never reads of the lexical model: its motion side
# and the text decoder. Everything else (text backbone, MLM head, lexicon, text dense head, any module added
# later) ties a generator to the model.
NOT_READ_BY_CONDITION = ("motion_encoder.", "motion_decoder.", "caption_head.", "motion_recon_head.",
                         "motion_dense_head.", "text_decoder.")


def weights_hash(model, skip_prefixes: tuple[str, ...] = ()) -> str:
    """sha256 over a model's stored weights (base-frozen ones and those under `skip_prefixes` excluded), names
    sorted, floating tensors rounded to float16 first: a run's float32 weights and their float16 export hash
    the same, any other model does not. SoPo records its reference generator by it."""
    from .checkpoint import frozen_names

    skip = frozen_names(model) if hasattr(model, "frozen_parameter_names") else set()
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if name in skip or name.startswith(skip_prefixes):
            continue
        t = tensor.detach().cpu()
        t = t.to(torch.float16) if t.is_floating_point() else t
        digest.update(name.encode())
        digest.update(t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def condition_hash(model) -> str:
    """weights_hash of what a generator's text condition reads of a lexical model (NOT_READ_BY_CONDITION left
    out): it ties a generator to the lexical model it was conditioned on, and a model retrained on its motion
    side only (its caption decoder, say) keeps its generators."""
    return weights_hash(model, NOT_READ_BY_CONDITION)


def lexical_record(model, path: str | Path) -> dict:
    """A generator manifest's "lexical" entry: the lexical checkpoint's path and its condition_hash."""
    return {"path": str(path), "condition_hash": condition_hash(model)}


def conditioned_on(record: dict, model) -> bool:
    """Whether a generator's lexical record names this lexical model: by its condition_hash, or for a generator
    written before that was recorded, by the whole model's weights_hash."""
    if "condition_hash" in record:
        return record["condition_hash"] == condition_hash(model)
    return record.get("weights_hash") == weights_hash(model)


def read_generator_manifest(directory: str | Path) -> dict:
    return validated_manifest(directory, FORMAT, _REQUIRED, "generator")


def is_generator_folder(directory: str | Path) -> bool:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("format") == FORMAT
    except (ValueError, OSError, AttributeError):
        return False


def generator_variants(checkpoint_dir: str | Path, complete_only: bool = True) -> dict[str, Path]:
    """{variant folder name: path} of the generator folders inside a checkpoint folder, "generator" first."""
    root = Path(checkpoint_dir)
    found = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if is_generator_folder(sub):
            if complete_only and not read_generator_manifest(sub).get("complete"):
                continue
            found[sub.name] = sub
    order = sorted(found, key=lambda n: (n != "generator", n != "sopo", n))
    return {n: found[n] for n in order}


@dataclass
class LoadedGenerator:
    model: "torch.nn.Module"      # models.text_to_motion.TextToMotion, eval mode
    normalizer: object            # motion_io.features263.Normalizer
    config: object                # engine.config.Config it was trained with
    manifest: dict
    directory: Path

    @property
    def variant(self) -> str:
        return self.manifest["variant"]

    @property
    def train_frames(self) -> int:
        """The longest clip it was trained on (frames): generation refuses longer ones."""
        return int(self.manifest.get("train_frames") or self.model.cfg.max_frames)


def build_generator(cfg):
    from .models.text_to_motion import TextToMotion
    return TextToMotion(cfg.generator)


def load_generator_weights(model, directory: str | Path, manifest: dict) -> None:
    path = Path(directory) / manifest["weights"]
    try:
        tensors = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types
        raise InputError(path, f"cannot read the weights: {err}") from None
    own = model.state_dict()
    if set(tensors) != set(own):
        odd = sorted(set(tensors) ^ set(own))
        raise InputError(path, f"weights do not match the generator's parameters: {odd[:5]}")
    for name, tensor in tensors.items():
        if own[name].shape != tensor.shape:
            raise InputError(path, f"{name}: stored shape {tuple(tensor.shape)} != model {tuple(own[name].shape)}")
    with torch.no_grad():
        for name, tensor in tensors.items():
            own[name].copy_(tensor)


def load_generator(directory: str | Path, device: str | torch.device = "cpu") -> LoadedGenerator:
    from .config import from_dict
    from .motion_io.features263 import Normalizer

    manifest = read_generator_manifest(directory)
    cfg = from_dict(manifest["config"], strict=False)
    model = build_generator(cfg)
    load_generator_weights(model, directory, manifest)
    try:
        normalizer = Normalizer.from_dict(manifest["normalizer"])
    except (KeyError, ValueError) as err:
        raise InputError(Path(directory) / MANIFEST, f"bad normaliser: {err}") from None
    return LoadedGenerator(model.to(device).eval(), normalizer, cfg, manifest, Path(directory))
