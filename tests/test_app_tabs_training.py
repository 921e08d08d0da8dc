"""The facade's training section the Training tab drives: checks before starting, one run at a time, cancel."""
import pytest

from engine import Engine
from engine.errors import MotionLexError, SpecError


def test_bad_requests_are_refused_before_anything_starts(tmp_path):
    engine = Engine()
    with pytest.raises(SpecError, match="unknown phase"):
        engine.start_training("synthetic?n=8", phases="lexmlm,warmup", out=str(tmp_path / "a"))
    with pytest.raises(SpecError, match="nope"):
        engine.start_training("synthetic?n=8", overrides=["train.nope=1"], out=str(tmp_path / "a"))
    with pytest.raises(SpecError, match="dataset"):
        engine.start_training(" ", out=str(tmp_path / "a"))
    with pytest.raises(MotionLexError, match="no training run"):
        engine.cancel_training()
    assert engine.training_status() == {"state": "idle"} and engine.training_metrics() == []
    assert not (tmp_path / "a").exists()


def test_one_run_at_a_time_and_cancel(tmp_path):
    engine = Engine()
    run_id = engine.start_training("synthetic?n=8", "tiny", "cmmm", str(tmp_path / "run"),
                                   ["train.cmmm.steps=500"], max_minutes=2)
    try:
        assert run_id.startswith("run@")
        status = engine.training_status()
        assert status["state"] == "running" and status["out_dir"] == str(tmp_path / "run")
        assert "--max-minutes 2" in status["command"] and "train.cmmm.steps=500" in status["command"]
        with pytest.raises(MotionLexError, match="already going"):
            engine.start_training("synthetic?n=8", phases="cmmm", out=str(tmp_path / "other"))
    finally:
        status = engine.cancel_training()
    assert status["state"] == "cancelled"
    with pytest.raises(MotionLexError):
        engine.use_checkpoint(tmp_path / "run")       # cancelled before writing any checkpoint
