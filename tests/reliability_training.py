"""The tiny training run of the reliability tests and bench/bench_reliability.py (no tests here): started by the
app's own worker (engine/train/worker.py), SIGKILLed at chosen moments and resumed, with a thread reading every
checkpoint while it goes; then checks of the run folder (every manifest, weights file, training state and
metrics line readable), of its final weights against an uninterrupted run's and of metrics.jsonl.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

TRAIN_DATA = "synthetic?n=60&seed=3"


def small_overrides(steps: int = 6, batch: int = 8, checkpoint_every: int = 2, phases=("lexmlm", "cmmm")) -> list[str]:
    """The small overrides of tests/test_train_helpers.py (seconds-long runs), as --set arguments."""
    from tests.test_train_helpers import SMALL
    sets = [s for s in SMALL if not s.startswith("train.checkpoint_every=")]
    return sets + [f"train.checkpoint_every={checkpoint_every}"] + [
        f"train.{p}.{k}={v}" for p in phases for k, v in (("steps", steps), ("batch_size", batch))]


PHASES = "lexmlm,cmmm"
STEPS = 8


def job(out: Path, resume: bool = False, steps: int = STEPS, checkpoint_every: int = 2):
    """The app's own worker (engine/train/worker.py) running `python -m engine train` on the tiny run."""
    from engine.train.worker import TrainingJob
    return TrainingJob(TRAIN_DATA, out, "tiny", PHASES, small_overrides(steps, checkpoint_every=checkpoint_every),
                       resume=resume)


def finish(training, timeout: float = 600) -> int:
    try:
        return training.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(training.process.pid, signal.SIGKILL)
        training.wait()
        raise


def final_weights(out: Path) -> dict:
    from safetensors.torch import load_file

    from engine.checkpoint import read_manifest
    return load_file(str(out / read_manifest(out)["weights"]))


def check_run_folder(out: Path, full: bool = True) -> list[str]:
    """Problems with any checkpoint under a (stopped) run folder: every manifest must read, name weights
    that load and a training state that loads; every metrics line must parse."""
    from safetensors.torch import load_file

    from engine.checkpoint import MANIFEST, read_manifest
    from engine.train.checkpoint import load_train_state

    problems = []
    for manifest_path in sorted(out.rglob(MANIFEST)):
        folder = manifest_path.parent
        try:
            manifest = read_manifest(folder)
            tensors = load_file(str(folder / manifest["weights"])) if full else None
            if full and not tensors:
                problems.append(f"{folder}: empty weights")
            if full and manifest.get("train_state"):
                load_train_state(folder, manifest)
        except Exception as err:  # noqa: BLE001
            problems.append(f"{folder}: {type(err).__name__}: {err}")
    metrics = out / "metrics.jsonl"
    if metrics.is_file():
        data = metrics.read_bytes()
        if data and not data.endswith(b"\n"):
            problems.append("metrics.jsonl ends in a torn line")
        for number, line in enumerate(data.decode().splitlines(), start=1):
            try:
                json.loads(line)
            except ValueError:
                problems.append(f"metrics.jsonl line {number} is torn: {line[:80]!r}")
    return problems


class Watcher(threading.Thread):
    """Reads every manifest of a run folder (and the header of the weights it names) in a loop while the
    run goes: a reader at any moment must find a readable checkpoint, never half of one."""

    def __init__(self, out: Path):
        super().__init__(daemon=True)
        self.out, self.stop, self.reads, self.problems = out, threading.Event(), 0, []

    def run(self):
        while not self.stop.is_set():
            for manifest_path in list(self.out.rglob("manifest.json")):
                self.read(manifest_path.parent)
            time.sleep(0.02)

    def read(self, folder: Path) -> None:
        from safetensors import safe_open

        from engine.checkpoint import MANIFEST, read_manifest

        for _ in range(3):   # the weights a manifest names are removed once a newer manifest lands
            try:
                manifest = read_manifest(folder)
                with safe_open(str(folder / manifest["weights"]), "pt") as weights:
                    if not list(weights.keys()):
                        raise ValueError("no tensors")
                self.reads += 1
                return
            except FileNotFoundError:
                continue
            except Exception as err:  # noqa: BLE001
                if (folder / MANIFEST).is_file():
                    self.problems.append(f"{folder}: {type(err).__name__}: {err}")
                return
        self.problems.append(f"{folder}: the weights its manifest names keep vanishing")


def line_count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def writing(out: Path, since: float) -> bool:
    """A checkpoint file is being written: a temporary file of atomic_write made after `since` exists (an
    older one is a leftover of a killed write, removed by the next save)."""
    for pattern in ("*/.model-*.tmp", "*/.train_state-*.tmp", ".model-*.tmp"):
        for path in out.glob(pattern):
            try:
                if path.stat().st_mtime > since:
                    return True
            except OSError:
                continue
    return False


def new_mid_checkpoint(out: Path, since: float) -> bool:
    """A mid-phase checkpoint (incomplete, step > 0) was committed after `since`."""
    for manifest in out.glob("*/manifest.json"):
        try:
            if manifest.stat().st_mtime > since:
                data = json.loads(manifest.read_text())
                if not data.get("complete") and data.get("step", 0) > 0:
                    return True
        except (OSError, ValueError):
            continue
    return False


def mid_phase_checkpoints(out: Path) -> list[tuple[str, int]]:
    found = []
    for manifest in sorted(out.glob("*/manifest.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if not data.get("complete") and data.get("step", 0) > 0:
            found.append((manifest.parent.name, data["step"]))
    return found


KILL_MOMENTS = ("writing", "after_checkpoint", "steps")


def kill_and_resume(out: Path, kills: int, rng: random.Random, log=print, steps: int = STEPS) -> dict:
    """Train into `out`, SIGKILLing the run `kills` times and resuming with --resume each time, then let it
    finish. The first kill comes while the run starts up; each other one, picked at random, while a checkpoint
    file is being written ("writing"), at a random delay after a mid-phase checkpoint landed
    ("after_checkpoint", mid-step or mid-write of the next) or a random number of steps in ("steps").
    -> counts: kills, attempts, moments, mid-phase checkpoints resumed from, problems found, watcher reads."""
    watcher = Watcher(out)
    watcher.start()
    plan = ["starting"] + [KILL_MOMENTS[i % 3] for i in range(kills - 1)]
    plan = plan[:1] + rng.sample(plan[1:], len(plan) - 1)
    stats = {"kills": 0, "attempts": 0, "problems": [], "kill_moments": [], "resumed_from": []}
    try:
        while True:
            training = job(out, resume=stats["attempts"] > 0, steps=steps).start()
            stats["attempts"] += 1
            if stats["kills"] < kills:
                spawned = time.time()
                kind = plan[stats["kills"]]
                if kind == "starting":
                    moment = (kind, round(rng.uniform(0.3, 3.0), 3))
                    while training.running and time.time() - spawned < moment[1]:
                        time.sleep(0.01)
                elif kind == "writing":
                    moment = (kind,)
                    while training.running and not writing(out, spawned):
                        time.sleep(0.002)
                elif kind == "after_checkpoint":
                    moment = (kind, round(rng.uniform(0.0, 0.3), 3))
                    while training.running and not new_mid_checkpoint(out, spawned):
                        time.sleep(0.005)
                    time.sleep(moment[1])
                else:
                    target = line_count(out / "metrics.jsonl") + rng.randint(1, 5)
                    moment = (kind, target, round(rng.uniform(0.0, 0.2), 3))
                    while training.running and line_count(out / "metrics.jsonl") < target:
                        time.sleep(0.005)
                    time.sleep(moment[2])
                if training.running:
                    os.killpg(training.process.pid, signal.SIGKILL)    # the process group this code started
                    training.wait()
                    stats["kills"] += 1
                    stats["kill_moments"].append(moment)
                    stats["resumed_from"] += mid_phase_checkpoints(out)
                    found = check_run_folder(out)
                    stats["problems"] += [f"after kill {stats['kills']} ({moment}): {p}" for p in found]
                    log(f"kill {stats['kills']} at {moment}: {len(found)} problems")
                    continue
                log(f"the run ended before the planned kill {moment}")
            code = finish(training)
            if code != 0:
                stats["problems"].append(f"the resumed run failed (exit {code}): {training.log_tail()[-1500:]}")
            break
    finally:
        watcher.stop.set()
        watcher.join()
    stats["problems"] += watcher.problems
    stats["watcher_reads"] = watcher.reads
    return stats


def weight_mismatches(a: Path, b: Path) -> list[str]:
    import torch

    wa, wb = final_weights(a), final_weights(b)
    if wa.keys() != wb.keys():
        return [f"different tensors: {sorted(set(wa) ^ set(wb))[:5]}"]
    return [name for name in wa if not torch.allclose(wa[name], wb[name], atol=1e-6, rtol=0)]


def metrics_problems(out: Path, steps: int = STEPS) -> list[str]:
    """metrics.jsonl must hold every (phase, step) of the run once, in order, as an uninterrupted run's."""
    logged = [(r["phase"], r["step"]) for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]
    expected = [(p, s) for p in PHASES.split(",") for s in range(1, steps + 1)]
    if logged == expected:
        return []
    duplicated = sorted({x for x in logged if logged.count(x) > 1})
    return [f"metrics steps differ from an uninterrupted run's: duplicated {duplicated[:5]}, "
            f"missing {sorted(set(expected) - set(logged))[:5]}, order ok: {sorted(logged) == sorted(expected)}"]
