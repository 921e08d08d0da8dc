"""Crash safety of training and of the files around it, with real processes.

- A real tiny run (`python -m engine train`, started by the app's own worker, engine/train/worker.py) is
  killed with SIGKILL at random moments (while starting, while training, while writing a checkpoint) and
  resumed with --resume: no manifest, checkpoint or training state is ever unreadable (a thread reads them
  all the time the run goes, and every file is loaded after each kill), the final weights equal an
  uninterrupted run's, and metrics.jsonl holds each step once, with no torn line.
- A full disk (a real 400 MB tmpfs filled up while the run goes; without root, an ENOSPC raised by the
  atomic writer at the commit point) leaves the previous checkpoint intact and one clear error line.
- Manifests are validated: weights named `../../etc/passwd`, a pickle posing as weights or as the training
  state is refused, and never unpickled.
- Two app instances (two processes) building the same library index into one cache folder at once.
"""
from __future__ import annotations

import errno
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from engine.checkpoint import MANIFEST, load_checkpoint, read_manifest
from engine.errors import InputError, MotionLexError
from engine.train.checkpoint import load_train_state
from tests.reliability_server import ROOT
from tests.reliability_training import (STEPS, TRAIN_DATA, check_run_folder, finish, job, kill_and_resume,
                                        metrics_problems, weight_mismatches)

os.environ.setdefault("OMP_NUM_THREADS", "1")    # the runs below inherit it: same threads, same float sums
CI_KILLS = 3


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """The uninterrupted run every interrupted one must end like."""
    out = tmp_path_factory.mktemp("straight") / "run"
    training = job(out).start()
    assert finish(training) == 0, training.log_tail()
    return out


# ------------------------------------------------------------------------------------- tests
def test_sigkill_at_random_moments_then_resume_ends_like_an_uninterrupted_run(straight, tmp_path):
    out = tmp_path / "killed"
    stats = kill_and_resume(out, CI_KILLS, random.Random(11))
    print(f"\nkills at {stats['kill_moments']}; mid-phase checkpoints resumed from: {stats['resumed_from']}")
    assert stats["kills"] >= CI_KILLS - 1, stats    # a fast machine may finish before a planned kill
    assert stats["resumed_from"], "no kill left a mid-phase checkpoint to resume from"
    assert not stats["problems"], "\n".join(stats["problems"])
    assert stats["watcher_reads"] > 0
    assert not check_run_folder(out)
    assert not weight_mismatches(straight, out)
    assert not metrics_problems(out)
    assert not [p for p in out.rglob("*.tmp")], "temporary files of killed writes were left behind"


def test_a_torn_metrics_tail_is_closed_before_the_next_record(tmp_path):
    # A process killed inside write(2) can leave half a line (the kernel writes page by page); the next
    # record must not glue onto it, and a resumed run drops it (run.py, _truncate_metrics).
    from engine.train.loop import append_line
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2, "lo')
    append_line(path, '{"step": 3}')
    assert path.read_text().splitlines() == ['{"step": 1}', '{"step": 2, "lo', '{"step": 3}']


def mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    return done.returncode == 0


def fill_disk(where: Path, leave: int = 64 * 1024) -> Path:
    """A file taking all but `leave` bytes of the file system at `where`."""
    filler = where / "filler.bin"
    info = os.statvfs(where)
    size = max(0, info.f_bavail * info.f_frsize - leave)
    with open(filler, "wb") as handle:
        chunk = bytes(1 << 20)
        while size > 0:
            try:
                size -= handle.write(chunk[:min(size, len(chunk))])
            except OSError:
                break
    return filler


def test_a_full_disk_during_a_checkpoint_leaves_the_previous_one_and_a_clear_error(straight, tmp_path):
    disk = tmp_path / "disk"
    if not mount_tmpfs(disk, "400m"):
        pytest.skip("cannot mount a tmpfs (needs root): test_enospc_at_the_commit_point covers this by patching")
    try:
        out = disk / "run"
        training = job(out, steps=STEPS, checkpoint_every=2).start()
        deadline = time.time() + 300
        while training.running and time.time() < deadline:   # the first mid-phase checkpoint is on disk
            if (out / "lexmlm" / MANIFEST).is_file() and read_manifest(out / "lexmlm")["step"] >= 2:
                break
            time.sleep(0.01)
        filler = fill_disk(disk)
        code = finish(training)
        log = training.log_tail(400)
        error = log.strip().splitlines()[-1]
        assert code == 2 and "Traceback" not in log, log[-2000:]
        assert error.startswith("error: ") and "No space left on device" in error and "previous checkpoint" in error, error
        assert not check_run_folder(out), check_run_folder(out)      # what is there is whole and loadable
        assert not [p for p in out.rglob("*.tmp")]
        failed_step = int(error.split("checkpoint of step ")[1].split()[0])
        folder = Path(error[len("error: "):].split(": cannot write")[0])
        if folder != out and (folder / MANIFEST).is_file():           # the phase's previous checkpoint
            assert read_manifest(folder)["step"] < failed_step
        # Room again: the run resumes from the checkpoint the full disk left and ends like the uninterrupted one.
        filler.unlink()
        training = job(out, resume=True).start()
        assert finish(training) == 0, training.log_tail()
        assert not weight_mismatches(straight, out)
        assert not metrics_problems(out)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_enospc_at_the_commit_point_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    """The patched variant (any user): the atomic writer raises ENOSPC when the manifest is written."""
    import engine.train.checkpoint as ckpt
    from engine.checkpoint import build_model
    from tests.test_train_helpers import small_config

    cfg = small_config(2, 4)
    model = build_model(cfg)
    ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase="cmmm", step=1, complete=False,
                         train_state={"step": 1})
    real = ckpt.atomic_write_json

    def disk_full(path, obj):
        if Path(path).name == MANIFEST:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, obj)
    monkeypatch.setattr(ckpt, "atomic_write_json", disk_full)
    with pytest.raises(MotionLexError) as info:
        ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase="cmmm", step=2, complete=False,
                             train_state={"step": 2})
    monkeypatch.undo()
    message = str(info.value)
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert "\n" not in message and "No space left on device" in message and "previous checkpoint" in message
    manifest = read_manifest(tmp_path)
    assert manifest["step"] == 1 and load_train_state(tmp_path, manifest)["step"] == 1
    assert len(list(tmp_path.glob("model-*.safetensors"))) == 1       # the new, uncommitted files are gone
    assert len(list(tmp_path.glob("train_state-*.pt"))) == 1
    assert not list(tmp_path.glob(".*.tmp"))


class Boom:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_manifests_are_validated_and_pickles_never_loaded(straight, tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Boom(marker))

    def tampered(name: str, **changes) -> Path:
        folder = tmp_path / name
        shutil.copytree(straight / "lexmlm", folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        manifest.update(changes)
        (folder / MANIFEST).write_text(json.dumps(manifest))
        return folder

    for weights in ("../../etc/passwd", "/etc/passwd", "../model.safetensors", "evil.pt", "model.bin"):
        with pytest.raises(InputError, match="expected a .safetensors file in the folder"):
            read_manifest(tampered("w" + str(abs(hash(weights))), weights=weights))
    folder = tampered("pickle_weights", weights="model-evil.safetensors")
    (folder / "model-evil.safetensors").write_bytes(evil)
    with pytest.raises(InputError, match="cannot read the weights"):
        load_checkpoint(folder)
    for state in ("../../etc/passwd", "/etc/passwd", "state.pkl"):
        folder = tampered("s" + str(abs(hash(state))), train_state=state)
        with pytest.raises(InputError, match="expected a train_state"):
            load_train_state(folder, read_manifest(folder))
    folder = tampered("pickle_state", train_state="train_state-evil.pt")
    torch.save({"x": Boom(marker)}, folder / "train_state-evil.pt")     # a pickle torch.load would run
    with pytest.raises(InputError, match="cannot read the training state"):
        load_train_state(folder, read_manifest(folder))
    assert not marker.exists(), "a pickle was unpickled"


def test_a_manifest_nesting_bomb_is_an_input_error(tmp_path):
    (tmp_path / MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError):
        read_manifest(tmp_path)


BUILD = """
import sys, time
from pathlib import Path
from engine.facade import Engine
engine = Engine(checkpoint=sys.argv[1], data=sys.argv[2])
engine.service()                                    # the model loaded: now wait for the other instance
Path(sys.argv[3] + ".ready." + sys.argv[4]).touch()
while not Path(sys.argv[3]).exists():
    time.sleep(0.005)
print(engine.build_index(sys.argv[2]), flush=True)
hits = engine.search("walk", keywords=True, k=5)["hits"]
print([h["id"] for h in hits])
"""


def index_folders(*roots: Path) -> list[Path]:
    """Saved SparseIndex folders (those with a manifest) under the roots: the cache or the checkpoint."""
    return sorted(p.parent for root in roots if root.is_dir() for p in root.rglob(MANIFEST)
                  if p.parent.name in ("motions", "captions"))


def test_two_app_instances_build_one_index_at_once(straight, tmp_path):
    """Two Engine objects in two processes, one checkpoint and one cache folder ($MOTIONLEX_CACHE), build the
    same library's index at the same moment (both wait, model loaded, for a go file): neither fails, both
    answer alike, and what they leave loads whole. (The narrow race in the index writer is pinned by the
    test below: two processes saving one folder in a loop.)"""
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(straight, checkpoint, ignore=shutil.ignore_patterns("lexmlm", "cmmm", "*.log", "metrics.jsonl"))
    shared_cache = tmp_path / "cache"
    go = tmp_path / "go"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), MOTIONLEX_CACHE=str(shared_cache))
    procs = [subprocess.Popen([sys.executable, "-c", BUILD, str(checkpoint), TRAIN_DATA, str(go), str(i)], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    deadline = time.time() + 300
    while not all(Path(f"{go}.ready.{i}").exists() for i in range(2)) and time.time() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    go.touch()
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err[-2000:]
    hit_lists = [out.strip().splitlines()[-1] for out, _ in results]
    assert hit_lists[0] == hit_lists[1]
    # What they saved loads, whole, and holds every clip of the library once, in order.
    from engine.data import open_dataset
    from engine.index import SparseIndex
    saved = index_folders(shared_cache, checkpoint)
    assert "motions" in {p.name for p in saved}, saved
    clip_ids = [c.id for c in open_dataset(TRAIN_DATA).clips]
    for folder in saved:
        index = SparseIndex.load(folder, None)
        assert index is not None and index.nnz > 0
        if folder.name == "motions":
            assert list(index.ids) == clip_ids
    assert not [p for p in shared_cache.rglob("*") if p.name.startswith(".") and ".tmp" in p.name]


STORE_RACE = """
import sys, time
import numpy as np
from engine.index.store import load_arrays, save_arrays
folder, who, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
arrays = {f"a{i}": np.full(100_000, who, np.float32) for i in range(6)}
while time.time() < deadline:
    pass
problems = 0
for _ in range(30):
    try:
        save_arrays(folder, "race", arrays, {}, "fp")
        loaded = load_arrays(folder, "race", "fp")
        if loaded is not None and len({float(a[0]) for a in loaded[0].values()}) > 1:
            problems += 1            # arrays of two writers under one manifest
    except Exception as err:
        problems += 1
        print(type(err).__name__, err, file=sys.stderr)
print(problems)
"""


def test_two_writers_of_one_index_folder_never_fail_or_mix(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    start = str(time.time() + 2.0)
    procs = [subprocess.Popen([sys.executable, "-c", STORE_RACE, str(tmp_path / "index"), str(i), start], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-500:] for _, e in outputs]
    assert [int(o.strip().splitlines()[-1]) for o, _ in outputs] == [0, 0], [e[-500:] for _, e in outputs]
