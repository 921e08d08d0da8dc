"""Shared by the app tests: a stand-in for gr.Progress (NoProgress), and a checkpoint with generators made in
seconds on top of the shipped model (make_generator_checkpoint). The shipped model's engine is a fixture in
tests/conftest.py.

`engine train --phases evaluator,generator,sopo --base checkpoints/default` with a few steps of tiny
networks: the lexical model is the shipped one (so its encoded library index is copied along and search
stays instant), the generators are real but untrained (their motions are noise-like; the tests check the
plumbing: two synchronised animations, scores, steering, downloads)."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "checkpoints" / "default"
TINY_GENERATOR = ["train.evaluator.steps=2", "train.evaluator.batch_size=8", "train.generator.steps=3",
                  "train.generator.batch_size=8", "train.sopo.steps=2", "train.sopo.batch_size=2",
                  "train.sopo.samples=2", "train.sopo.sampling_steps=2", "generator.width=32", "generator.depth=1",
                  "generator.ff=64"]


class NoProgress:
    """Stands in for gr.Progress when a test calls a tab's handler as a plain function: progress is ignored."""

    def __call__(self, *args, **kwargs):
        pass


def make_generator_checkpoint(out: Path) -> Path:
    cmd = [sys.executable, "-m", "engine", "train", "--data", "synthetic?n=40", "--preset", "tiny",
           "--phases", "evaluator,generator,sopo", "--base", str(DEFAULT), "--out", str(out), "--quiet",
           "--threads", "1"] + [a for item in TINY_GENERATOR for a in ("--set", item)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    if (DEFAULT / "index").is_dir() and not (out / "index").exists():
        shutil.copytree(DEFAULT / "index", out / "index")
    return out
