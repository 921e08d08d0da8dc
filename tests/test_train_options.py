"""The options from the other seeds, switched on in real (tiny) training runs: each logs its term and
changes the result; MoT++ input and joint-dataset training run end to end."""
import json

import pytest
import torch

from engine.train.run import train
from tests.test_train_helpers import DATA, small_config

OPTIONS = {
    "cccl": (["train.cccl=true"], "cccl"),
    "mildtriple": (["train.triplet=mild", "train.triplet_warmup=0.5"], "triplet"),
    "droptriple": (["train.triplet=drop", "train.triplet_warmup=0.5"], "triplet"),
    "inverse_ler": (["train.inverse_ler=0.1"], "inverse_ler"),
    # the tiny preset's LexCMLP defaults, switched back to the paper's: still train, and differently
    "dot_all_terms": (["model.lex_score=dot", "model.lex_top_k=0", "train.lex_temperature=1.0"], "info_nce"),
    "mirror_off": (["train.lexcmlp.w_mirror=0"], "info_nce"),
    # ours, for the words captions use, on in the tiny preset: the text anchor, and its and the pull's
    # targets with fewer expansions; each switched off alone
    "text_anchor_off": (["train.lexcmlp.w_text_anchor=0"], "info_nce"),
    "distill_literal_off": (["train.lexcmlp.distill_literal=0"], "distill"),
    "anchor_literal_off": (["train.lexcmlp.anchor_literal=0"], "text_anchor"),
}


def records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def final_weights(out):
    from engine.train.checkpoint import load_checkpoint
    model = load_checkpoint(out)[0]
    return torch.cat([p.detach().flatten() for p in model.motion_encoder.parameters()])


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain") / "run"
    train(small_config(4), [DATA], "lexcmlp", out)
    return out


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_option_adds_its_term_and_changes_training(name, plain, tmp_path):
    sets, term = OPTIONS[name]
    out = tmp_path / name
    train(small_config(4, extra=sets), [DATA], "lexcmlp", out)
    logged = [r[term] for r in records(out) if term in r]
    assert len(logged) == 4 and all(v == v and abs(v) < 1e6 for v in logged)   # finite, every step
    assert not torch.allclose(final_weights(out), final_weights(plain))


def test_mirror_term_is_on_in_the_tiny_preset_and_off_when_weight_0(plain, tmp_path):
    assert all("mirror" in r and "text_anchor" in r for r in records(plain) if r.get("phase") == "lexcmlp")
    out = tmp_path / "no_mirror"
    train(small_config(4, extra=["train.lexcmlp.w_mirror=0"]), [DATA], "lexcmlp", out)
    assert not any("mirror" in r for r in records(out))


def test_motpp_off_and_per_joint_tokens_train(tmp_path):
    out = tmp_path / "joints"
    summary = train(small_config(2, extra=["model.motpp=false", "model.joint_tokens=joints"]), [DATA], "cmmm", out)
    assert summary["results"]["cmmm"]["complete"]


def test_joint_dataset_training_over_two_specs(tmp_path):
    other = "synthetic?n=40&seed=9"
    summary = train(small_config(2), [DATA, other], "lexcmlp", tmp_path / "joint")
    assert summary["data"] == f"{DATA},{other}"
    from engine.data import open_dataset
    expected = sum(len(open_dataset(spec).split("train")) for spec in (DATA, other))
    assert summary["train_clips"] == expected   # both datasets' training clips
