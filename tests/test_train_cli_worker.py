"""The `train` CLI (through python -m engine) and the app's background TrainingJob."""
import json
import subprocess
import sys
import time
from pathlib import Path

from engine.checkpoint import read_manifest
from engine.train.worker import TrainingJob
from tests.test_train_helpers import DATA, SMALL

REPO = Path(__file__).resolve().parents[1]
SETS = SMALL + [f"train.cmmm.{k}={v}" for k, v in (("steps", 3), ("batch_size", 4))]


def test_cli_trains_and_prints_a_json_summary(tmp_path):
    cmd = [sys.executable, "-m", "engine", "train", "--data", DATA, "--preset", "tiny", "--phases", "cmmm",
           "--out", str(tmp_path), "--json"] + [a for s in SETS for a in ("--set", s)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["phases_done"] == ["cmmm"] and summary["results"]["cmmm"]["steps"] == 3
    assert summary["checkpoint"] == str(tmp_path) and (tmp_path / "manifest.json").is_file()
    assert "[cmmm 3/3]" in done.stderr          # progress lines when stderr is not a terminal


def test_cli_reports_bad_overrides_in_one_line(tmp_path):
    cmd = [sys.executable, "-m", "engine", "train", "--data", DATA, "--out", str(tmp_path),
           "--set", "model.motion_depthh=2"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown config key 'model.motion_depthh'" in done.stderr
    assert "Traceback" not in done.stderr


def test_training_job_runs_in_the_background_and_reports(tmp_path):
    job = TrainingJob(DATA, tmp_path / "run", phases="cmmm", overrides=SETS).start()
    assert job.status()["state"] == "running"
    assert job.wait(180) == 0
    status = job.status()
    assert status["state"] == "finished" and status["phase"] == "cmmm" and status["step"] == 3
    assert len(job.metrics()) == 3 and '"phases_done"' in job.log_tail()


def test_training_job_can_be_cancelled(tmp_path):
    sets = SMALL + ["train.cmmm.steps=100000", "train.cmmm.batch_size=4"]
    job = TrainingJob(DATA, tmp_path / "run", phases="cmmm", overrides=sets).start()
    deadline = time.time() + 120
    while not job.metrics() and time.time() < deadline and job.running:
        time.sleep(0.5)
    assert job.metrics(), job.log_tail()
    job.cancel()
    assert job.status()["state"] == "cancelled" and not job.running
    # SIGTERM made the loop checkpoint where it was, so the run can be resumed later.
    state = read_manifest(tmp_path / "run" / "cmmm")
    assert state["step"] >= 1 and not state["complete"] and state["train_state"]
