"""The generation phases: loadable checkpoints, kill-and-resume equals an uninterrupted run, a frozen reference."""
import json

import pytest
import torch
from safetensors.torch import load_file

from engine.checkpoint import load_checkpoint
from engine.errors import SpecError
from engine.generator_checkpoint import condition_hash, load_generator, read_generator_manifest, weights_hash
from engine.train.run import train
from tests.test_generation_helpers import GEN_DATA, gen_config, trained_run

torch.set_num_threads(1)


class Killed(Exception):
    pass


def weights(folder):
    return load_file(str(folder / read_generator_manifest(folder)["weights"]))


def test_phases_leave_loadable_checkpoints(tmp_path_factory, tiny_checkpoint):
    run = trained_run(tmp_path_factory, tiny_checkpoint)
    lexical = load_checkpoint(run)[0]            # --base was copied in: the run folder is servable
    assert weights_hash(lexical) == weights_hash(load_checkpoint(tiny_checkpoint)[0])
    base, sopo = load_generator(run / "generator"), load_generator(run / "sopo")
    for gen in (base, sopo):
        m = gen.manifest
        assert m["complete"] and m["lexical"]["condition_hash"] == condition_hash(lexical)
        assert len(m["normalizer"]["mean"]) == 263 and gen.train_frames == 40
    assert sopo.manifest["reference"]["weights_hash"] == weights_hash(base.model)
    assert base.manifest["step"] == 4 and sopo.manifest["step"] == 3 and sopo.manifest["mode"] == "sopo"
    assert any(not torch.equal(a, b) for a, b in zip(base.model.state_dict().values(),
                                                     sopo.model.state_dict().values()))
    evaluator, cfg, manifest = load_checkpoint(run / "evaluator")
    assert manifest["complete"] and cfg.train.seed == cfg.train.evaluator.seed
    log = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert {r["phase"] for r in log} == {"evaluator", "generator", "sopo"}
    assert all("reward_worst" in r and 0 <= r["reward_worst"] <= 1 for r in log if r["phase"] == "sopo")


def test_generator_phases_refuse_a_run_without_a_lexical_model(tmp_path):
    cfg = gen_config("")
    with pytest.raises(SpecError, match="need a lexical model"):
        train(cfg, [GEN_DATA], "generator", tmp_path / "none")


def killed_and_resumed(cfg, phases, tmp_path, kill_phase, kill_step):
    train(cfg, [GEN_DATA], phases, tmp_path / "straight")

    def kill(record):
        if record["phase"] == kill_phase and record["step"] == kill_step:
            raise Killed()
    with pytest.raises(Killed):
        train(cfg, [GEN_DATA], phases, tmp_path / "killed", progress=kill)
    state = read_generator_manifest(tmp_path / "killed" / kill_phase)
    assert not state["complete"] and state["step"] < kill_step and state["train_state"]
    summary = train(cfg, [GEN_DATA], phases, tmp_path / "killed", resume=True)
    a, b = weights(tmp_path / "straight" / kill_phase), weights(tmp_path / "killed" / kill_phase)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    steps = [r["step"] for r in map(json.loads, (tmp_path / "killed" / "metrics.jsonl").open())
             if r["phase"] == kill_phase]
    assert steps == sorted(set(steps)) and steps[-1] == state["total_steps"]
    return summary


def test_generator_killed_and_resumed_matches_an_uninterrupted_run(tmp_path, tiny_checkpoint):
    # Dropout, condition dropout, random t and noise: all seeded per step, so resume reproduces them.
    cfg = gen_config(tiny_checkpoint, ["train.generator.steps=5", "train.checkpoint_every=2", "train.log_every=1"])
    killed_and_resumed(cfg, "generator", tmp_path, "generator", 3)


@pytest.mark.parametrize("mode,folder", [("sopo", "sopo"), ("offline", "dpo_offline")])
def test_sopo_killed_and_resumed_matches_an_uninterrupted_run(tmp_path, tiny_checkpoint, mode, folder):
    # The online samples (sopo) and the fixed offline pairs (drawn again after the restart) must come out
    # the same; lr 1e-3 so that the steps move the weights well past float noise.
    cfg = gen_config(tiny_checkpoint, ["train.generator.steps=2", "train.sopo.steps=4", "train.sopo.lr=1e-3",
                                       f"train.sopo.mode={mode}", "train.checkpoint_every=2", "train.log_every=1"])
    summary = killed_and_resumed(cfg, "generator,sopo", tmp_path, folder, 3)
    assert summary["results"]["generator"]["skipped"] == "already done"


def test_online_dpo_and_the_sentence_condition_train_into_their_own_folders(tmp_path, tiny_checkpoint):
    cfg = gen_config(tiny_checkpoint, ["train.generator.steps=2", "train.sopo.steps=2", "train.sopo.mode=online",
                                       "generator.condition=sentence"])
    summary = train(cfg, [GEN_DATA], "generator,sopo", tmp_path)
    assert set(summary["results"]) == {"generator_sentence", "dpo_online_sentence"}
    gen = load_generator(tmp_path / "dpo_online_sentence")
    assert gen.config.generator.condition == "sentence" and gen.manifest["mode"] == "online"
    with pytest.raises(SpecError, match="already holds"):
        train(cfg, [GEN_DATA], "generator", tmp_path)


@pytest.mark.parametrize("error", ["features", "generator_loss"])
def test_the_reference_stays_frozen_while_the_policy_moves(tiny_checkpoint, tmp_path_factory, error):
    from dataclasses import replace

    from engine.models.text_condition import TextCondition
    from engine.data import open_dataset
    from engine.train.feature_data import FeatureClips
    from engine.train.generation_loop import GenerationRun, train_generation_phase
    from engine.train.phases.sopo import SopoPhase

    run = trained_run(tmp_path_factory, tiny_checkpoint)
    base = load_generator(run / "generator")
    lexical = load_checkpoint(run)[0]
    cfg = gen_config(tiny_checkpoint, ["train.sopo.lr=1e-3", "train.sopo.tau=2",   # tau 2: every row "valuable"
                                       f"train.sopo.error={error}"])
    cfg = replace(cfg, generator=base.config.generator)
    ds = open_dataset(GEN_DATA)
    data = FeatureClips(ds, ds.split("train"), base.train_frames, normalizer=base.normalizer)
    phase = SopoPhase(cfg, TextCondition(lexical), base, data, lexical, torch.device("cpu"), {}, {})
    before = {k: v.clone() for k, v in phase.reference.state_dict().items()}
    out = tmp_path_factory.mktemp("frozen")
    train_generation_phase(phase, GenerationRun(cfg=cfg, total_steps=3, out_dir=out / "sopo",
                                                metrics_path=out / "metrics.jsonl", seed=0, checkpoint_every=100,
                                                log_every=1))
    assert all(not p.requires_grad and p.grad is None for p in phase.reference.parameters())
    assert all(torch.equal(before[k], v) for k, v in phase.reference.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in phase.policy.state_dict().items())
