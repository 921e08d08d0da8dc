"""Export a training run's final model for serving: weights only, optionally in float16.

A run folder carries per-phase checkpoints and optimizer states for resuming; a served model
needs none of that. Export keeps the final trained weights (frozen base weights are still not
stored), casts floating tensors to `dtype` to halve the size, and writes a manifest that records
where it came from. Loading casts back to the model's float32 parameters. The run's generators and
their evaluator are exported beside it (export_generation.py).
"""
from __future__ import annotations

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
