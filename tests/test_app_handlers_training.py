"""Training tab handlers, told from the run's own records: a budget too short for one phase refused before the
start, a real 2-step run followed to "done" with "Use this checkpoint" enabled only then, Cancel after the end
answered truthfully, a cancelled run still shown as cancelled by a fresh server (page reload or restart),
resumed; a budget-stopped run read from its files; loss curves without the clock or the learning rate."""
import json
import time

import pytest

from app import health_tab, training_tab
from app.feedback import is_error
from engine import Engine

QUICK = "train.cmmm.steps=2\ntrain.cmmm.batch_size=8\nmodel.motion_dim=32\nmodel.motion_depth=1\ntrain.log_every=1"
DATA = "synthetic?n=16"


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLEX_RUNS", str(tmp_path / "runs"))
    return Engine()


def wait_for(engine, out, states, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = engine.run_status(out)
        if status["state"] in states:
            return status
        time.sleep(0.5)
    raise AssertionError(f"run never reached {states}: {engine.run_status(out)}")


def refreshed(engine, viewed=None):
    status, curves, pace, log, start, cancel, resume, use, runs, key = training_tab.refresh(engine, viewed, None)
    return {"status": status, "curves": curves, "pace": pace, "log": log, "start": start["interactive"],
            "cancel": cancel["interactive"], "resume": resume["interactive"], "use": use["interactive"], "runs": runs}


def test_a_budget_too_short_for_one_phase_is_refused_before_the_start(engine, tmp_path):
    note = training_tab.plan(engine, "synthetic", "tiny", 1, ["lexmlm", "cmmm"], "")
    assert "too short for the first phase" in note and "lexmlm" in note
    viewed, message = training_tab.start(engine, "synthetic", "tiny", 1, ["lexmlm", "cmmm"], str(tmp_path / "r"), "")
    assert is_error(message) and "too short for the first phase" in message
    assert not (tmp_path / "r").exists() and engine.run_status()["state"] == "none"
    assert "No training run yet" in refreshed(engine)["status"]


def test_a_short_run_to_done_then_use_it(engine, tmp_path):
    out = tmp_path / "quick"
    viewed, message = training_tab.start(engine, DATA, "tiny", None, ["cmmm"], str(out), QUICK)
    assert viewed == str(out) and message.startswith("Started `quick@")
    assert message.count("quick") == 1                                 # the run named once
    early = refreshed(engine, viewed)
    assert early["cancel"] and not early["start"] and not early["use"]   # running: Use disabled
    assert any(s in early["status"] for s in ("starting", "running"))
    done = wait_for(engine, viewed, {"done", "failed"})
    assert done["state"] == "done" and done["usable"] and done["elapsed_s"] > 1
    page = refreshed(engine, viewed)
    assert page["use"] and not page["cancel"] and page["start"] and not page["resume"]
    assert "phase **cmmm** (1 of 1) step 2/2" in page["status"] and "elapsed" in page["status"]
    assert "[cmmm 2/2]" in page["log"]                                 # the log is shown
    assert sorted(t.name for t in page["curves"].data) == ["info_nce", "loss", "recon", "velocity"]
    assert page["runs"][0][:2] == ["quick", "done"] and page["runs"][0][4] == "yes"
    assert "already ended" in training_tab.cancel(engine)                # not "no training run is going"
    assert "Now serving" in training_tab.use(engine, viewed)


def test_cancel_shows_cancelled_after_a_reload_and_resumes(engine, tmp_path):
    out = tmp_path / "long"
    training_tab.start(engine, DATA, "tiny", None, ["cmmm"], str(out),
                       QUICK.replace("train.cmmm.steps=2", "train.cmmm.steps=5000"))
    wait_for(engine, str(out), {"running"})
    assert "Cancelled" in training_tab.cancel(engine)
    status = engine.run_status(str(out))
    assert status["state"] == "cancelled" and not status["usable"] and status["resumable"]
    fresh = Engine()                          # a restarted server: only the run's files are left
    page = refreshed(fresh)
    assert page["status"].startswith("**cancelled**") and "No training run yet" not in page["status"]
    assert page["resume"] and not page["use"] and not page["cancel"]
    viewed, message = training_tab.resume(fresh, None, None)
    assert "Resumed" in message and fresh.run_status(viewed)["running"]
    training_tab.cancel(fresh)
    assert json.loads((out / "run.json").read_text())["attempts"] == 2


def test_a_budget_stop_read_from_the_files(engine, tmp_path, monkeypatch):
    out = tmp_path / "runs" / "budget"
    (out / "lexmlm").mkdir(parents=True)
    (out / "lexmlm" / "manifest.json").write_text(json.dumps({"complete": False, "step": 10}))
    records = [{"phase": "lexmlm", "step": s, "total_steps": 300, "loss": 5.0 / s, "mlm_enc": 3.0 / s, "lr": {"text": 1e-4},
                "seconds": 2.0 * s, "seconds_per_step": 2.0, "time": 1000.0 + s} for s in range(1, 11)]
    (out / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (out / "train.log").write_text("[lexmlm 10/300] loss=0.5\n" + json.dumps(
        {"phases": ["lexmlm"], "stopped": "time budget", "checkpoint": None}, indent=2) + "\n")
    (out / "run.json").write_text(json.dumps({"data": "synthetic", "preset": "tiny", "phases": "lexmlm",
                                              "overrides": [], "max_minutes": 1, "started": 990.0}))
    status = engine.run_status(str(out))
    assert status["state"] == "stopped" and "time budget" in status["label"]
    assert not status["usable"] and status["resumable"] and status["step"] == 10 and status["total_steps"] == 300
    text = training_tab.status_markdown(status)
    assert "step 10/300" in text and "no checkpoint to use" in text and "Resume" in text
    (out / "manifest.json").write_text(json.dumps({"complete": True, "weights": "model.safetensors"}))
    assert not engine.run_status(str(out))["usable"]          # a manifest without its weights is not loadable


def test_loss_curves_hold_loss_terms_only():
    records = [{"step": s, "phase": "sopo", "total_steps": 3, "loss": 1.0 / s, "delta_w": -0.1, "reward_mean": 0.4,
                "valuable_share": 0.5, "lr": {"sopo": 1e-5}, "seconds": 3.0 * s, "seconds_per_step": 0.5,
                "time": 1e9} for s in (1, 2, 3)]
    fig = training_tab.loss_figure(records)
    assert [t.name for t in fig.data] == ["loss"]
    pace = training_tab.pace_figure(records)
    assert [t.name for t in pace.data] == ["lr sopo", "s / step"]


def test_feature_health_handlers(engine, tmp_path):
    rows, figure, note = health_tab.measure(engine, "synthetic", 16)
    assert [r[0] for r in rows][0] == "input projection" and rows[-1][0] == "output"
    assert all(isinstance(r[1], float) and r[1] > 1 and r[3] > 1 for r in rows) and "What low values mean" in note
    assert len(figure.data) == 2
    run = tmp_path / "ler-run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("\n".join(json.dumps({"phase": "cmmm", "step": s, "loss": 1.0,
                                                             "inverse_ler": 0.1 * s}) for s in (1, 2)) + "\n")
    figure, note = health_tab.run_health(engine, str(run))
    assert figure["visible"] and list(figure["value"].data[0].y) == pytest.approx([10.0, 5.0]) and "LER" in note
    (run / "metrics.jsonl").write_text(json.dumps({"phase": "cmmm", "step": 1, "loss": 1.0}) + "\n")
    figure, note = health_tab.run_health(engine, str(run))
    assert figure["visible"] is False and "train.inverse_ler" in note      # no empty box
