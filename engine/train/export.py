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
    served = _served_generators(src, dst)      # before DST's lexical model is overwritten
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
    kept = _keep_generators(src, dst, served)
    atomic_write_json(dst / MANIFEST, exported)   # last: the commit point
    return {"checkpoint": str(dst), "from": str(src), "dtype": dtype, "tensors": len(tensors),
            "bytes": (dst / weights).stat().st_size, "generation_bytes": generation, **kept}


def _served_generators(src: Path, dst: Path) -> tuple[str, dict[str, bool]] | None:
    """DST's served generators that the run will not replace, read before the export overwrites DST: (the
    condition hash of DST's lexical model, {folder name: whether it is conditioned on that model}); None when
    there are none."""
    from ..checkpoint import load_checkpoint
    from ..generator_checkpoint import condition_hash, conditioned_on, generator_variants
    from .export_generation import SERVED

    replaced = set(generator_variants(src))
    folders = {n: f for n, f in generator_variants(dst).items() if n in SERVED and n not in replaced}
    if not folders or not (dst / MANIFEST).is_file():
        return None
    old = load_checkpoint(dst)[0]
    return condition_hash(old), {name: conditioned_on(json.loads((folder / MANIFEST).read_text())["lexical"], old)
                                 for name, folder in sorted(folders.items())}


def _keep_generators(src: Path, dst: Path, served: tuple[str, dict[str, bool]] | None) -> dict:
    """DST's served generators that the run did not replace (_served_generators): kept, their lexical record moved
    to the new model, when they were conditioned on DST's former model and the new one has its text side (a run
    that retrained only the motion side, e.g. caption tuning); otherwise listed as stale (serving refuses them,
    naming the reason)."""
    from ..checkpoint import load_checkpoint
    from ..generator_checkpoint import condition_hash, lexical_record

    if served is None:
        return {}
    old_condition, tied = served
    new = load_checkpoint(src)[0]
    same_text_side = condition_hash(new) == old_condition
    kept, stale = [], []
    for name, was_tied in tied.items():
        path = dst / name / MANIFEST
        if same_text_side and was_tied:
            atomic_write_json(path, {**json.loads(path.read_text()), "lexical": lexical_record(new, dst)})
            kept.append(name)
        else:
            stale.append(name)
    return {"kept_generators": kept, "stale_generators": stale}


def export_generation_only(src: str | Path, dst: str | Path, dtype: str = "float16") -> dict:
    """Add a run's generators and evaluator to an existing served checkpoint, leaving its lexical model, index
    and manifest as they are (`export --generation-only`): for generation phases trained with `--base DST`.

    Every generator must be tied to DST's lexical model (the condition hash in its manifest); the run's
    generation-phase records replace DST's records of the same phases in metrics.jsonl, so the app's curves
    show the lexical phases and the generation phases side by side."""
    if dtype not in DTYPES:
        raise SpecError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    from ..checkpoint import load_checkpoint
    from ..generator_checkpoint import conditioned_on, generator_variants, read_generator_manifest
    from .export_generation import SERVED, export_generation

    src, dst = Path(src), Path(dst)
    read_manifest(dst)                        # a servable checkpoint, or a clear error naming it
    served = load_checkpoint(dst)[0]
    variants = {n: f for n, f in generator_variants(src).items() if n in SERVED}
    if not variants:
        raise SpecError(f"{src} holds no complete generator to export")
    for name, folder in variants.items():
        if not conditioned_on(read_generator_manifest(folder)["lexical"], served):
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
