"""Export a training run's final model for serving: weights only, optionally in float16.

A run folder carries per-phase checkpoints and optimizer states for resuming; a served model
needs none of that. Export keeps the final trained weights (frozen base weights are still not
stored), casts floating tensors to `dtype` to halve the size, and writes a manifest that records
where it came from. Loading casts back to the model's float32 parameters. The run's generators and
their evaluator are exported beside it (export_generation.py).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from ..errors import SpecError
from ..atomic import atomic_write_bytes, atomic_write_json
from ..checkpoint import FORMAT, MANIFEST, read_manifest

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def export_checkpoint(src: str | Path, dst: str | Path, dtype: str = "float16") -> dict:
    if dtype not in DTYPES:
        raise SpecError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    src, dst = Path(src), Path(dst)
    manifest = read_manifest(src)
    tensors = {name: t.to(DTYPES[dtype]) if t.is_floating_point() else t
               for name, t in load_file(str(src / manifest["weights"])).items()}
    dst.mkdir(parents=True, exist_ok=True)
    weights = "model.safetensors"
    atomic_write_bytes(dst / weights, save(tensors, metadata={"format": FORMAT, "dtype": dtype}))
    exported = {**manifest, "weights": weights, "train_state": None, "dtype": dtype,
                "exported_from": str(src)}
    atomic_write_json(dst / "config.json", manifest["config"])
    if (src / "metrics.jsonl").is_file():   # the app plots the training curves of the served model
        shutil.copyfile(src / "metrics.jsonl", dst / "metrics.jsonl")
    from .export_generation import export_generation
    generation = export_generation(src, dst, DTYPES[dtype], dtype)   # before the manifest: generators need it
    atomic_write_json(dst / MANIFEST, exported)   # last: the commit point
    return {"checkpoint": str(dst), "from": str(src), "dtype": dtype, "tensors": len(tensors),
            "bytes": (dst / weights).stat().st_size, "generation_bytes": generation}


def export_generation_only(src: str | Path, dst: str | Path, dtype: str = "float16") -> dict:
    """Add a run's generators and evaluator to an existing served checkpoint, leaving its lexical model, index
    and manifest as they are (`export --generation-only`): for generation phases trained with `--base DST`.

    Every generator must be tied to DST's lexical model (the weights hash in its manifest); the run's
    generation-phase records replace DST's records of the same phases in metrics.jsonl, so the app's curves
    show the lexical phases and the generation phases side by side."""
    if dtype not in DTYPES:
        raise SpecError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    from ..checkpoint import load_checkpoint
    from ..generator_checkpoint import generator_variants, read_generator_manifest, weights_hash
    from .export_generation import SERVED, export_generation

    src, dst = Path(src), Path(dst)
    read_manifest(dst)                        # a servable checkpoint, or a clear error naming it
    served = weights_hash(load_checkpoint(dst)[0])
    variants = {n: f for n, f in generator_variants(src).items() if n in SERVED}
    if not variants:
        raise SpecError(f"{src} holds no complete generator to export")
    for name, folder in variants.items():
        if read_generator_manifest(folder)["lexical"]["weights_hash"] != served:
            raise SpecError(f"{folder} was conditioned on another lexical model than {dst}'s; train it with --base {dst}")
    sizes = export_generation(src, dst, DTYPES[dtype], dtype)
    _merge_metrics(src / "metrics.jsonl", dst / "metrics.jsonl", {*variants, "evaluator"})
    return {"checkpoint": str(dst), "from": str(src), "dtype": dtype, "generation_bytes": sizes}


def _merge_metrics(src: Path, dst: Path, phases: set[str]) -> None:
    """dst's records of other phases, then src's records of `phases` (the exported ones, not research variants)."""
    if not src.is_file():
        return
    new = [line for line in src.read_text().splitlines() if line.strip() and json.loads(line).get("phase") in phases]
    old = [line for line in (dst.read_text().splitlines() if dst.is_file() else [])
           if line.strip() and json.loads(line).get("phase") not in phases]
    atomic_write_bytes(dst, ("\n".join(old + new) + "\n").encode())
