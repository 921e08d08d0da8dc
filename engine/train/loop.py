"""The one training loop every phase uses.

Adam over the model's parameter groups (text / motion / heads learning rates), restricted to what
the phase trains; gradient clipping; a JSON-lines metrics log; a time budget; periodic and final
checkpoints; exact resume. Randomness inside a step (masks, dropout) is seeded from
(seed, phase, step, rank) at the start of the step and batches are a pure function of the step, so
a run killed and resumed from a checkpoint reproduces the uninterrupted run's weights.

On the CPU, PyTorch's transparent huge pages (`THP_MEM_ALLOC_ENABLE=1` in the environment, set by
the Makefile) made training steps ~20% faster on the dev machines.
"""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as torch_dist
import torch.nn as nn
from tqdm import tqdm

from ..config import Config
from .batching import Batcher, stable_seed, to_device
from ..checkpoint import frozen_names
from .checkpoint import CheckpointWriteError, rng_state, save_checkpoint, set_rng_state
from .distributed import DistInfo, all_reduce_mean


class PhaseStep(nn.Module):
    """forward(batch, step, total) = the phase's loss; a module so DDP can wrap it."""

    def __init__(self, model: nn.Module, phase):
        super().__init__()
        self.model, self.phase = model, phase

    def forward(self, batch: dict, step: int, total: int):
        return self.phase.loss(self.model, batch, step, total)


@dataclass
class PhaseRun:
    """What the loop needs besides the model and the phase."""
    cfg: Config
    batcher: Batcher
    total_steps: int
    out_dir: Path                    # the phase's checkpoint folder
    metrics_path: Path               # the run's metrics.jsonl
    device: torch.device
    dist: DistInfo = DistInfo()
    phases_done: list = field(default_factory=list)
    data_fingerprint: str | None = None
    deadline: float | None = None    # time.time() after which the loop checkpoints and stops
    resume_state: dict | None = None
    progress: object = None          # callback(dict) at every log step


@dataclass
class PhaseResult:
    steps_done: int
    complete: bool
    last_terms: dict
    seconds: float
    seconds_per_step: float
    stopped: str | None = None       # "time budget" | "signal" when the phase did not finish


def set_trainable(model: nn.Module, names: set[str] | None) -> list[nn.Parameter]:
    """requires_grad = in `names` (None: everything) and not a base-frozen weight."""
    frozen = frozen_names(model)
    trainable = []
    for name, param in model.named_parameters():
        param.requires_grad_((names is None or name in names) and name not in frozen)
        if param.requires_grad:
            trainable.append(param)
    return trainable


def make_optimizer(model: nn.Module, phase_cfg, eps: float = 1e-8) -> torch.optim.Adam:
    groups = []
    for group in model.param_groups(phase_cfg.lr_text, phase_cfg.lr_motion, phase_cfg.lr_heads):
        params = [p for p in group["params"] if p.requires_grad]
        if params:
            groups.append({**group, "params": params, "base_lr": group["lr"]})
    if not groups:
        raise RuntimeError("this phase has no trainable parameters")
    return torch.optim.Adam(groups, eps=eps)


def set_lr(optimizer, step: int, warmup: int) -> None:
    scale = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * scale


def step_seed(seed: int, phase: str, step: int, rank: int) -> int:
    return stable_seed("step", seed, phase, step, rank)


def train_phase(model: nn.Module, phase, run: PhaseRun) -> PhaseResult:
    cfg, phase_cfg = run.cfg, run.cfg.train.phase(phase.name)
    if run.resume_state is None:
        phase.begin(model)
    set_trainable(model, set(phase.trainable(model)))
    model.train()
    optimizer = make_optimizer(model, phase_cfg, cfg.train.adam_eps)
    stepper: nn.Module = PhaseStep(model, phase)
    if run.dist.enabled:
        ddp_kwargs = {"device_ids": [run.device.index]} if run.device.type == "cuda" else {}
        stepper = nn.parallel.DistributedDataParallel(stepper, find_unused_parameters=True, **ddp_kwargs)

    start = 0
    if run.resume_state is not None:
        optimizer.load_state_dict(run.resume_state["optimizer"])
        set_rng_state(run.resume_state["rng"])
        start = int(run.resume_state["step"])

    params = [p for g in optimizer.param_groups for p in g["params"]]
    show = run.dist.is_main and sys.stderr.isatty()
    bar = tqdm(total=run.total_steps, initial=start, desc=phase.name, disable=not show, dynamic_ncols=True)
    began, terms, step = time.time(), {}, start
    window_start, window_steps = time.time(), 0
    stopped = None
    with StopOnSignal() as stop:
        while step < run.total_steps and not (stopped := _should_stop(run, stop)):
            loss, terms = _train_step(phase, run, stepper, optimizer, params, phase_cfg, step)
            step += 1
            window_steps += 1
            bar.update(1)
            if step % cfg.train.log_every == 0 or step == run.total_steps:
                record = _log(run, phase.name, step, loss, terms, optimizer, time.time() - window_start,
                              window_steps, time.time() - began)
                bar.set_postfix(loss=f"{record['loss']:.4f}")
                window_start, window_steps = time.time(), 0
            if step % cfg.train.checkpoint_every == 0 and step < run.total_steps:
                _checkpoint(model, optimizer, run, phase.name, step, complete=False, terms=terms)
    bar.close()
    set_trainable(model, None)   # back to "everything but the base-frozen weights" for later users
    complete = step >= run.total_steps
    if complete:
        model.eval()
        phase.finish(model, run.batcher)
    _checkpoint(model, optimizer, run, phase.name, step, complete=complete, terms=terms)
    seconds = time.time() - began
    done = max(1, step - start)
    return PhaseResult(step, complete, _floats(terms), seconds, seconds / done, None if complete else stopped)


class StopOnSignal:
    """SIGTERM (the app's cancel button, a scheduler's pre-emption) asks the loop to checkpoint and stop."""

    def __init__(self):
        self.requested, self.previous = False, None

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:        # not the main thread: leave signals alone
            self.previous = None
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _should_stop(run: PhaseRun, stop: StopOnSignal) -> str | None:
    """All ranks must agree to stop, so rank 0's clock (and its signal) decides."""
    code = 1.0 if stop.requested else 2.0 if run.deadline is not None and time.time() > run.deadline else 0.0
    if run.dist.enabled:
        flag = torch.tensor([code])
        torch_dist.broadcast(flag, src=0)
        code = float(flag.item())
    return {0.0: None, 1.0: "signal", 2.0: "time budget"}[code]


def _train_step(phase, run: PhaseRun, stepper, optimizer, params, phase_cfg, step: int):
    """One optimiser step on global batch `step`; its randomness is seeded by (seed, phase, step, rank)."""
    torch.manual_seed(step_seed(run.cfg.train.seed, phase.name, step, run.dist.rank))
    batch = to_device(run.batcher.batch(step), run.device)
    set_lr(optimizer, step, phase_cfg.warmup_steps)
    loss, terms = stepper(batch, step, run.total_steps)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if run.cfg.train.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, run.cfg.train.grad_clip)
    optimizer.step()
    return loss.detach(), terms


def _floats(terms: dict) -> dict:
    return {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in terms.items()}


def _log(run: PhaseRun, phase: str, step: int, loss, terms, optimizer, seconds: float, steps: int,
         elapsed: float) -> dict:
    values = {k: all_reduce_mean(v) for k, v in _floats(terms).items()}
    record = {"step": step, "total_steps": run.total_steps, "phase": phase,
              "loss": all_reduce_mean(float(loss.detach())), **values,
              "lr": {g.get("name", str(i)): g["lr"] for i, g in enumerate(optimizer.param_groups)},
              "seconds": round(elapsed, 3), "seconds_per_step": seconds / max(1, steps), "time": time.time()}
    if not all(math.isfinite(v) for v in values.values()):
        record["warning"] = "non-finite loss term"
    if run.dist.is_main:
        append_line(run.metrics_path, json.dumps(record))
        if run.progress is not None:
            run.progress(record)
    return record


def append_line(path: Path, line: str) -> None:
    """Append one line with a single write(2) on an O_APPEND descriptor: a process killed at any moment
    leaves the line whole or absent (a buffered text file may flush a line in pieces), and a torn tail
    from an older kill is closed with a newline first so it never glues onto this line. A resumed run
    drops unparsable lines and the records after its checkpoint (run_state.truncate_metrics)."""
    data = (line + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as tail:
                    tail.seek(size - 1)
                    if tail.read(1) != b"\n":
                        data = b"\n" + data
            written = os.write(fd, data)
            if written != len(data):   # a short write (a full disk): finish the line or fail loudly
                os.write(fd, data[written:])
        finally:
            os.close(fd)
    except OSError as err:
        raise CheckpointWriteError(f"{path}: cannot append to the metrics log ({err.strerror or err})", err.errno) from None


def _checkpoint(model, optimizer, run: PhaseRun, phase: str, step: int, complete: bool, terms: dict) -> None:
    if not run.dist.is_main:
        if run.dist.enabled:
            torch_dist.barrier()
        return
    state = {"optimizer": optimizer.state_dict(), "step": step, "rng": rng_state()}
    done = run.phases_done + ([phase] if complete else [])
    save_checkpoint(run.out_dir, model, run.cfg, phases_done=done, phase=phase, step=step,
                    total_steps=run.total_steps, complete=complete, data_fingerprint=run.data_fingerprint,
                    metrics=_floats(terms), train_state=None if complete else state)
    if run.dist.enabled:
        torch_dist.barrier()
