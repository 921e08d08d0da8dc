"""Serving the generators: Engine.generate / generate_pair, determinism, errors, the CLI, eval and export."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import MotionLexError
from engine.facade import Engine
from tests.test_generation_helpers import GEN_DATA, trained_run

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_checkpoint):
    return trained_run(tmp_path_factory, tiny_checkpoint)


@pytest.fixture(scope="module")
def engine(run):
    return Engine(checkpoint=str(run), data=GEN_DATA)


def test_generate_returns_canonical_joints_and_its_scores(engine):
    assert engine.generators() == ["base", "sopo"]
    out = engine.generate("a person walks forward", seconds=1.5, seed=3, steps=4)
    assert out["joints"].shape == (30, 22, 3) and out["joints"].dtype == np.float32
    assert out["frames"] == 30 and out["seconds"] == 1.5 and out["length"] == "given"
    assert 0 <= out["reward"] <= 1 and -1 <= out["evaluator_score"] <= 1
    assert set(out["physical"]) == {"skating_ratio", "penetration_max_m", "penetration_mean_m", "jitter_ms2",
                                    "bone_length_error"}
    assert out["timings"]["total_s"] >= out["timings"]["sampling_s"] > 0
    predicted = engine.generate("a person walks forward", steps=2)
    assert predicted["length"] == "predicted" and 20 <= predicted["frames"] <= 40


def test_sampling_is_deterministic_under_a_seed(engine):
    a = engine.generate("a person waves the left hand", seconds=1, seed=7, steps=3)
    b = engine.generate("a person waves the left hand", seconds=1, seed=7, steps=3)
    c = engine.generate("a person waves the left hand", seconds=1, seed=8, steps=3)
    assert np.array_equal(a["joints"], b["joints"]) and a["reward"] == b["reward"]
    assert not np.allclose(a["joints"], c["joints"])
    steered = engine.generate("a person waves the left hand", seconds=1, seed=7, steps=3, word_weights="left:3")
    assert not np.allclose(a["joints"], steered["joints"])


def test_served_output_is_smoothed_as_configured_and_raw_on_request(engine):
    """Same seed: the served joints are the raw output filtered by the generator's own sigma, jitter drops."""
    from engine.metrics.physical import jitter
    from engine.motion_io.smoothing import smooth_joints

    served = engine.generate("a person walks forward", seconds=2, seed=5, steps=4)
    raw = engine.generate("a person walks forward", seconds=2, seed=5, steps=4, smoothing=0)
    sigma = engine.generation().generator("base").config.train.generator.smoothing
    assert served["smoothing"] == sigma > 0 and raw["smoothing"] == 0
    assert np.allclose(served["joints"], smooth_joints(raw["joints"], sigma), atol=1e-6)
    assert jitter(served["joints"]) < 0.8 * jitter(raw["joints"])


def test_foot_lock_on_request_shifts_the_whole_body_horizontally(engine):
    """Same seed, locking on and off: heights equal, and per frame every joint moved by the same x/z shift."""
    off = engine.generate("a person walks forward", seconds=2, seed=5, steps=4, foot_lock=False)
    on = engine.generate("a person walks forward", seconds=2, seed=5, steps=4, foot_lock=True)
    assert on["foot_lock"] is True and off["foot_lock"] is False
    assert np.array_equal(on["joints"][..., 1], off["joints"][..., 1])
    shift = on["joints"] - off["joints"]
    assert np.allclose(shift, shift[:, :1], atol=1e-5) and np.abs(shift).max() > 1e-3
    assert on["physical"]["skating_ratio"] <= off["physical"]["skating_ratio"]


def test_as_served_is_the_generators_own_settings_unless_overridden(engine):
    from engine.inference.generate import Served

    gen = engine.generation().generator("base")
    own = Served.of(gen)
    g = gen.config.train.generator
    assert (own.guidance_below, own.smoothing, own.foot_lock) == (g.guidance_below, g.smoothing, g.foot_lock)
    assert Served.of(gen, 300, 0, not g.foot_lock) == Served(300, 0.0, not g.foot_lock)
    served = engine.generate("a person walks forward", seconds=1, seed=1, steps=2)
    assert (served["guidance_below"], served["smoothing"], served["foot_lock"]) == \
        (own.guidance_below, own.smoothing, own.foot_lock)


def test_generate_pair_shares_seed_and_length(engine):
    pair = engine.generate_pair("a person jumps", seed=1, steps=2)
    assert set(pair) == {"base", "sopo"} and pair["base"]["frames"] == pair["sopo"]["frames"]
    assert pair["sopo"]["variant"] == "sopo" and not np.array_equal(pair["base"]["joints"], pair["sopo"]["joints"])


@pytest.mark.parametrize("kwargs,message", [
    ({"prompt": "   "}, "type what"), ({"prompt": "qwzx blorp"}, "no word"),
    ({"seconds": 0.5}, "seconds"), ({"seconds": 11}, "seconds"), ({"seconds": float("nan")}, "seconds"),
    ({"seconds": 5}, "up to 2 s"), ({"steps": 0}, "steps"), ({"steps": 1001}, "steps"), ({"steps": 2.5}, "steps"),
    ({"guidance": -1}, "guidance"), ({"guidance": 21}, "guidance"), ({"smoothing": -0.5}, "smoothing"),
    ({"smoothing": 11}, "smoothing"), ({"smoothing": float("nan")}, "smoothing"),
    ({"model": "nope"}, "available: base, sopo"),
    ({"word_weights": "walk:x"}, "not a number")])
def test_bad_requests_are_one_clear_error(engine, kwargs, message):
    args = {"prompt": "a person walks", "steps": 2, **kwargs}
    with pytest.raises(MotionLexError, match=message):
        engine.generate(**args)


def test_a_checkpoint_without_generators_says_so(tiny_checkpoint):
    with pytest.raises(MotionLexError, match="has no generator"):
        Engine(checkpoint=str(tiny_checkpoint)).generate("a person walks")


def cli(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_generate_cli_writes_the_motion_and_prints_json(run, tmp_path):
    out = tmp_path / "walk.npy"
    proc = cli("generate", "--checkpoint", str(run), "--prompt", "a person walks", "--model", "sopo",
               "--seconds", "1.5", "--steps", "3", "--seed", "2", "--foot-lock", "on", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["frames"] == 30 and result["variant"] == "sopo" and "joints" not in result
    assert result["foot_lock"] is True and result["smoothing"] > 0
    assert {"reward", "evaluator_score", "physical", "timings"} <= set(result)
    assert np.load(out).shape == (30, 22, 3)
    bvh = cli("generate", "--checkpoint", str(run), "--prompt", "a person walks", "--seconds", "1", "--steps", "2",
              "--out", str(tmp_path / "walk.bvh"))
    assert bvh.returncode == 0 and (tmp_path / "walk.bvh").read_text().startswith("HIERARCHY")


@pytest.mark.parametrize("args", [["--seconds", "12"], ["--prompt", "qwzx"], ["--out", "x.gif"]])
def test_generate_cli_errors_are_one_line_and_exit_2(run, tmp_path, args):
    # One subprocess per kind of failure (limits, the prompt, the output file); every limit is covered
    # in-process by test_bad_requests_are_one_clear_error.
    given = {"--prompt": "a person walks", "--out": str(tmp_path / "m.npy"), **dict(zip(args[::2], args[1::2]))}
    proc = cli("generate", "--checkpoint", str(run), "--steps", "2", *[x for kv in given.items() for x in kv])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error:")


def test_eval_has_a_generation_section_with_every_row(run):
    from engine.data import open_dataset
    from engine.evaluation.generation import generation_eval
    from engine.inference.service import ModelService

    service = ModelService(run)
    ds = open_dataset(GEN_DATA)
    section = generation_eval(service, ds, ds.split("test"))
    assert section["order"] == ["ground_truth", "base", "sopo"] and section["repetitions"] == 2
    keys = {"top1", "top2", "top3", "mm_dist", "fid", "diversity", "skating_ratio", "penetration_max_m",
            "penetration_mean_m", "jitter_ms2", "bone_length_error", "reward"}
    assert set(section["rows"]["ground_truth"]) == keys
    for name in ("base", "sopo"):
        assert set(section["rows"][name]) == keys | {"multimodality"}
        assert all(set(v) == {"mean", "interval"} and np.isfinite(v["mean"]) for v in section["rows"][name].values())
    assert section["rows"]["ground_truth"]["fid"]["mean"] == 0 and section["rows"]["ground_truth"]["bone_length_error"]["mean"] < 1e-6


def test_a_generator_of_another_lexical_model_is_reported_not_a_failed_eval(run, tiny_checkpoint, tmp_path):
    """The lexical model replaced under its generators (a retrained checkpoint before `make generators`): eval
    still gives every lexical figure and names the generators it cannot serve."""
    import shutil

    stale = tmp_path / "stale"
    shipped = REPO / "checkpoints" / "default"
    shutil.copytree(shipped, stale, ignore=shutil.ignore_patterns("generator", "sopo", "evaluator", "library"))
    for name in ("evaluator", "generator"):
        shutil.copytree(run / name, stale / name)
    result = Engine(checkpoint=str(stale), data=GEN_DATA).evaluate(GEN_DATA, "test", captioning=False)
    assert "retrieval" in result and "queries" in result
    assert result["generation"]["skipped"] and "another lexical model" in result["generation"]["unusable"]["base"]


def test_evaluate_includes_the_generation_section(run):
    result = Engine(checkpoint=str(run), data=GEN_DATA).evaluate(GEN_DATA, "test", captioning=False)
    assert result["generation"]["order"] == ["ground_truth", "base", "sopo"] and "retrieval" in result
    assert "keywords" in result and "queries" in result            # the whole evaluation, as served


def test_export_ships_the_generators_in_float16(run, tmp_path):
    from safetensors.torch import load_file
    from engine.train.export import export_checkpoint

    summary = export_checkpoint(run, tmp_path / "shipped")
    assert set(summary["generation_bytes"]) == {"generator", "sopo", "evaluator"}
    tensors = load_file(str(tmp_path / "shipped" / "sopo" / "generator.safetensors"))
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    evaluator = load_file(str(tmp_path / "shipped" / "evaluator" / "model.safetensors"))
    assert not any(k.startswith(("text_decoder.", "motion_decoder.", "mlm_head.")) for k in evaluator)
    shipped = Engine(checkpoint=str(tmp_path / "shipped")).generate("a person walks", seconds=1, seed=7, steps=3)
    served = Engine(checkpoint=str(run)).generate("a person walks", seconds=1, seed=7, steps=3)
    assert shipped["frames"] == 20 and np.abs(shipped["joints"] - served["joints"]).max() < 0.05
    assert shipped["evaluator_score"] == pytest.approx(served["evaluator_score"], abs=0.02)
