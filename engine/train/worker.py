"""A training run in the background for the app's training tab.

`TrainingJob` starts `python -m engine train ... --json` as a subprocess (its own process group),
so the server never blocks on it and survives it crashing; status comes from the run's
metrics.jsonl and the subprocess's exit code, and the log is a file the app can tail.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def train_command(data: str, out_dir: str | Path, preset: str = "tiny", phases: str = "all",
                  overrides: list[str] | None = None, max_minutes: float | None = None,
                  resume: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "engine", "train", "--data", data, "--preset", preset,
           "--phases", phases, "--out", str(out_dir), "--json"]
    for item in overrides or []:
        cmd += ["--set", item]
    if max_minutes is not None:
        cmd += ["--max-minutes", str(max_minutes)]
    if resume:
        cmd.append("--resume")
    return cmd


class TrainingJob:
    def __init__(self, data: str, out_dir: str | Path, preset: str = "tiny", phases: str = "all",
                 overrides: list[str] | None = None, max_minutes: float | None = None, resume: bool = False):
        self.out_dir = Path(out_dir).resolve()   # the child runs in the repository root
        self.command = train_command(data, self.out_dir, preset, phases, overrides, max_minutes, resume)
        self.log_path = self.out_dir / "train.log"
        self.process: subprocess.Popen | None = None
        self.started: float | None = None
        self.cancelled = False

    def start(self) -> "TrainingJob":
        if self.running:
            raise RuntimeError("this job is already running")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        env = dict(os.environ, THP_MEM_ALLOC_ENABLE=os.environ.get("THP_MEM_ALLOC_ENABLE", "1"))
        self.process = subprocess.Popen(self.command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log.close()   # the child holds its own handle
        self.started, self.cancelled = time.time(), False
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cancel(self, grace_s: float = 10.0) -> None:
        """SIGTERM the job's process group (it and any torchrun children), SIGKILL after a grace period."""
        if not self.running:
            return
        self.cancelled = True
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def metrics(self) -> list[dict]:
        """Every record of metrics.jsonl so far (a half-written last line is skipped)."""
        path = self.out_dir / "metrics.jsonl"
        if not path.is_file():
            return []
        records = []
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.is_file():
            return ""
        with open(self.log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64_000))
            text = handle.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def status(self) -> dict:
        records = self.metrics()
        last = records[-1] if records else None
        code = None if self.process is None else self.process.poll()
        state = ("not started" if self.process is None else "running" if code is None
                 else "cancelled" if self.cancelled else "finished" if code == 0 else "failed")
        return {"state": state, "exit_code": code, "phase": last and last["phase"], "step": last and last["step"],
                "total_steps": last and last.get("total_steps"),
                "last_metrics": last, "seconds": None if self.started is None else time.time() - self.started,
                "out_dir": str(self.out_dir), "command": " ".join(self.command)}
