"""The loop of the generator phases (`generator`, `sopo`): AdamW over the generator, a step-wise learning-rate
schedule, the run's metrics log, a time budget, periodic and final atomic checkpoints, exact resume.

As in loop.py, a step's randomness (diffusion step, noise, condition dropout, SoPo's samples) is seeded from
(seed, phase, step) when the step begins and batches are a pure function of the step, so a run killed and
resumed from a checkpoint (weights, AdamW state, step, RNG state) ends with the uninterrupted run's weights.
Schedules: "constant" (MDM) = linear warm-up, then the base rate; "cosine" (SoPo, appendix C.1) = linear
warm-up, then a cosine decay to 0 at the last step. One process (no DDP): the generator phases are small.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..config import Config
from .checkpoint import rng_state, set_rng_state
from .distributed import DistInfo
from .loop import PhaseResult, StopOnSignal, _floats, _log, step_seed


@dataclass
class GenerationRun:
    cfg: Config
    total_steps: int
    out_dir: Path                 # the phase's checkpoint folder
    metrics_path: Path
    seed: int
    checkpoint_every: int
    log_every: int
    deadline: float | None = None
    resume_state: dict | None = None
    progress: object = None
    dist: DistInfo = DistInfo()   # always one process; loop._log reads it


def lr_scale(step: int, total: int, warmup: int, decay: str) -> float:
    """Multiplier of the base rate at 0-based `step`: linear warm-up over `warmup` steps, then constant or
    a cosine from 1 at the end of the warm-up to 0 after the last step."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if decay == "constant":
        return 1.0
    span = max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup + 1) / span)))


def train_generation_phase(phase, run: GenerationRun) -> PhaseResult:
    """`phase`: .name, .pcfg (lr, weight_decay, warmup_steps, grad_clip), .decay, .policy (the module trained),
    .batch(step), .loss(batch, step, total) -> (loss, terms), .save(directory, step, total, complete, metrics,
    train_state)."""
    pcfg, policy = phase.pcfg, phase.policy
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": params, "lr": pcfg.lr, "base_lr": pcfg.lr, "name": phase.name}],
                                  weight_decay=pcfg.weight_decay)
    start = 0
    if run.resume_state is not None:
        optimizer.load_state_dict(run.resume_state["optimizer"])
        set_rng_state(run.resume_state["rng"])
        start = int(run.resume_state["step"])
    bar = tqdm(total=run.total_steps, initial=start, desc=phase.name, disable=not sys.stderr.isatty(),
               dynamic_ncols=True)
    began, terms, step, stopped = time.time(), {}, start, None
    window_start, window_steps = time.time(), 0
    with StopOnSignal() as stop:
        while step < run.total_steps:
            stopped = "signal" if stop.requested else (
                "time budget" if run.deadline is not None and time.time() > run.deadline else None)
            if stopped:
                break
            torch.manual_seed(step_seed(run.seed, phase.name, step, 0))
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * lr_scale(step, run.total_steps, pcfg.warmup_steps, phase.decay)
            batch = phase.batch(step)
            loss, terms = phase.loss(batch, step, run.total_steps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if pcfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, pcfg.grad_clip)
            optimizer.step()
            step += 1
            window_steps += 1
            bar.update(1)
            if step % run.log_every == 0 or step == run.total_steps:
                record = _log(run, phase.name, step, loss.detach(), terms, optimizer, time.time() - window_start,
                              window_steps, time.time() - began)
                bar.set_postfix(loss=f"{record['loss']:.4f}")
                window_start, window_steps = time.time(), 0
            if step % run.checkpoint_every == 0 and step < run.total_steps:
                phase.save(run.out_dir, step, run.total_steps, False, _floats(terms),
                           {"optimizer": optimizer.state_dict(), "step": step, "rng": rng_state()})
    bar.close()
    complete = step >= run.total_steps
    state = None if complete else {"optimizer": optimizer.state_dict(), "step": step, "rng": rng_state()}
    phase.save(run.out_dir, step, run.total_steps, complete, _floats(terms), state)
    seconds = time.time() - began
    return PhaseResult(step, complete, _floats(terms), seconds, seconds / max(1, step - start),
                       None if complete else stopped)
