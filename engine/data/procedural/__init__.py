"""Procedural motion library: captioned human motions made from joint-angle curves, no data needed.

generate_clip(i, seed) is a pure function of (i, seed), so any clip can be rebuilt on its own and
a library can be built in parallel. This is the `synthetic` dataset's generator.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from engine.motion import Motion, canonicalize

from .captions import captions
from .fk import REST_OFFSETS
from .primitives import PRIMITIVES, REGISTRY
from .root import place_root
from .sampler import build_track, sample_spec

__all__ = ["PRIMITIVES", "ProceduralClip", "generate_clip", "generate_library"]


@dataclass
class ProceduralClip:
    id: str
    motion: Motion
    captions: list[str]
    label: dict


def _label(spec: dict, scale: float) -> dict:
    parts = spec["parts"]
    return {"primitives": [q["primitive"] for q in parts], "parts": parts, "style": spec["style"],
            "sides": sorted({q["side"] for q in parts if q["side"]}),
            "composition": "then" if len(parts) > 1 else None, "body_scale": round(scale, 3)}


def generate_clip(index: int, seed: int = 0) -> ProceduralClip:
    rng = np.random.default_rng([seed, index])
    spec = sample_spec(rng)
    scale = float(rng.uniform(0.9, 1.1))  # people from ~1.55 m to ~1.9 m
    track = build_track(spec, rng)
    joints = canonicalize(place_root(track, REST_OFFSETS * scale))
    label = _label(spec, scale)
    clip_id = f"synth_{index:06d}"
    motion = Motion(joints, name=clip_id, meta={"source": "synthetic", "seed": seed, "label": label})
    return ProceduralClip(clip_id, motion, captions(spec, rng, count=int(rng.integers(3, 6))), label)


def _chunk(args: tuple[int, int, int]) -> list[ProceduralClip]:
    start, stop, seed = args
    return [generate_clip(i, seed) for i in range(start, stop)]


def generate_library(n: int, seed: int = 0, workers: int | None = None) -> list[ProceduralClip]:
    """Clips 0..n-1; `workers` processes (default: CPU count, 1 = in this process)."""
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or n < 64:
        return _chunk((0, n, seed))
    step = max(32, n // (workers * 8))
    jobs = [(s, min(n, s + step), seed) for s in range(0, n, step)]
    with ProcessPoolExecutor(workers) as pool:
        return [clip for chunk in pool.map(_chunk, jobs) for clip in chunk]
