"""Kill-and-resume gives the uninterrupted run's weights; 2 DDP processes match one process."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import engine.checkpoint as loading
import engine.train.checkpoint as ckpt
from engine.config import save_config
from engine.checkpoint import read_manifest
from engine.train.run import train
from tests import test_train_ddp_entry as ddp_entry
from tests.test_train_helpers import DATA, small_config

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]


def final_weights(out: Path) -> dict:
    return load_file(str(out / read_manifest(out)["weights"]))


class Killed(Exception):
    pass


def run_killed_and_resumed(cfg, phases: str, tmp_path: Path, kill_phase: str, kill_step: int) -> dict:
    """Train `phases` straight into tmp_path/straight and, killed at (kill_phase, kill_step), into
    tmp_path/killed, then resume the killed run; asserts both end with the same weights. -> the resume summary."""
    train(cfg, [DATA], phases, tmp_path / "straight")

    def kill(record):
        if record["phase"] == kill_phase and record["step"] == kill_step:
            raise Killed()
    with pytest.raises(Killed):
        train(cfg, [DATA], phases, tmp_path / "killed", progress=kill)
    state = read_manifest(tmp_path / "killed" / kill_phase)
    assert state["step"] < kill_step and not state["complete"] and state["train_state"]
    summary = train(cfg, [DATA], phases, tmp_path / "killed", resume=True)
    a, b = final_weights(tmp_path / "straight"), final_weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6, rtol=0), name
    return summary


def test_kill_and_resume_matches_an_uninterrupted_run(tmp_path):
    # Two phases, dropout and masking on: resume must restore weights, Adam state and step, and the
    # per-step seeds must give the same masks and batches again.
    cfg = small_config(6, 8, ["train.checkpoint_every=2"])
    summary = run_killed_and_resumed(cfg, "lexmlm,cmmm", tmp_path, "cmmm", 3)
    assert summary["results"]["lexmlm"]["skipped"] == "already done"
    # The metrics log holds each step once, as if the run had never stopped.
    steps = [(r["phase"], r["step"]) for r in map(json.loads, (tmp_path / "killed" / "metrics.jsonl").open())]
    assert steps == [(p, s) for p in ("lexmlm", "cmmm") for s in range(1, 7)]


def test_text_anchor_is_rebuilt_from_the_phase_start_on_resume(tmp_path):
    # LexCMLP's anchor is a frozen copy of the text side as the phase began; a resumed run must rebuild
    # it from those weights (the previous phase's), not from its own mid-phase checkpoint.
    cfg = small_config(4, 8, ["train.checkpoint_every=2", "train.lexcmlp.w_text_anchor=1.0",
                              "train.lexcmlp.lr_text=1e-3"])
    run_killed_and_resumed(cfg, "lexmmm,lexcmlp", tmp_path, "lexcmlp", 3)
    log = [json.loads(line) for line in (tmp_path / "killed" / "metrics.jsonl").open()]
    assert all(r["text_anchor"] > 0 for r in log if r["phase"] == "lexcmlp")


def test_caption_tuning_killed_and_resumed_fits_the_same_caption_head(tmp_path):
    # The head is fitted once, after the last step: a resumed phase must end with the same one.
    cfg = small_config(4, 8, ["train.checkpoint_every=2"])
    run_killed_and_resumed(cfg, "lexmmm,caption", tmp_path, "caption", 3)
    assert "caption_head.down" in final_weights(tmp_path / "killed")


def test_a_phase_retrained_on_resume_logs_each_step_once(tmp_path):
    # A phase whose checkpoint folder is gone runs again from step 0: its earlier records are dropped.
    cfg = small_config(3, 4)
    train(cfg, [DATA], "cmmm", tmp_path)
    shutil.rmtree(tmp_path / "cmmm")
    (tmp_path / "manifest.json").unlink()
    train(cfg, [DATA], "cmmm", tmp_path, resume=True)
    steps = [(r["phase"], r["step"]) for r in map(json.loads, (tmp_path / "metrics.jsonl").open())]
    assert steps == [("cmmm", s) for s in range(1, 4)]


def test_time_budget_stops_cleanly_and_resumes(tmp_path):
    cfg = small_config(3, 4)
    summary = train(cfg, [DATA], "cmmm", tmp_path, max_minutes=0.0)
    assert summary["stopped"] == "time budget" and summary["checkpoint"] is None
    assert read_manifest(tmp_path / "cmmm")["step"] == 0
    summary = train(cfg, [DATA], "cmmm", tmp_path, resume=True)
    assert summary["phases_done"] == ["cmmm"] and summary["checkpoint"]


def test_two_ddp_processes_match_one_process(tmp_path):
    # The dense phase with every dropout off (tests/test_train_ddp_entry.py) is deterministic given the batch, so
    # the only difference between 1 and 2 processes is how the global batch of 8 is split: InfoNCE over
    # all-gathered embeddings + DDP's gradient mean must give the single-process gradient.
    # Adam's first steps are ~lr * sign(g), which turns float noise in tiny gradients into lr-sized
    # differences; a large eps makes the update ~lr * g, so weights compare gradients faithfully.
    lrs = [f"train.dense.{k}=0.05" for k in ("lr_text", "lr_motion", "lr_heads")]
    cfg = small_config(3, 8, ["model.dropout=0", "train.adam_eps=1", *lrs])
    save_config(cfg, tmp_path / "config.json")
    ddp_entry.main(str(tmp_path / "config.json"), DATA, str(tmp_path / "single"))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master-port=29533",
           "-m", "tests.test_train_ddp_entry", str(tmp_path / "config.json"), DATA, str(tmp_path / "ddp")]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp_log = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").open()]
    single_log = [json.loads(line) for line in (tmp_path / "single" / "metrics.jsonl").open()]
    assert [r["loss"] for r in ddp_log] == pytest.approx([r["loss"] for r in single_log], abs=1e-5)
    a, b = final_weights(tmp_path / "single"), final_weights(tmp_path / "ddp")
    for name in a:
        assert torch.allclose(a[name], b[name], atol=2e-6, rtol=1e-5), name
    # ... and the runs did move the weights far more than that tolerance.
    torch.manual_seed(cfg.train.seed)
    init = loading.build_model(cfg).state_dict()   # same seed and order as train(): the initial weights
    assert torch.equal(a["motion_decoder.positions"], init["motion_decoder.positions"])  # not trained here
    assert (a["motion_dense_head.weight"] - init["motion_dense_head.weight"]).abs().max() > 1e-3
