"""End to end: every phase trains on the synthetic dataset (losses go down), checkpoints load back."""
import json

import pytest
import torch

from engine.checkpoint import load_checkpoint, read_manifest
from engine.train.run import parse_phases, train
from engine.errors import SpecError
from tests.test_train_helpers import DATA, small_config

torch.set_num_threads(1)
PHASES = ["lexmlm", "cmmm", "lexmmm", "lexcmlp", "caption", "dense"]
STEPS = 16


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    # Higher learning rates than the paper's so that ten steps show a trend; a fixed batch per
    # phase (a one-item stream repeated) would hide batching bugs, so the real sampler is used.
    cfg = small_config(STEPS, 8, ["train.lexcmlp.lr_text=1e-4", "train.lexcmlp.lr_motion=1e-3",
                                  "train.lexcmlp.lr_heads=1e-3", "train.dense.lr_text=1e-4",
                                  "train.dense.lr_motion=1e-3", "train.dense.lr_heads=1e-3",
                                  "train.cmmm.lr_motion=1e-3", "train.lexmmm.lr_motion=1e-3",
                                  "train.caption.full_mask=1"])   # captioning's 100% masks every step
    summary = train(cfg, [DATA], ",".join(PHASES), out)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return out, cfg, summary, records


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_lowers_its_loss(run, phase):
    _, _, summary, records = run
    losses = [r["loss"] for r in records if r["phase"] == phase]
    assert len(losses) == STEPS and summary["results"][phase]["complete"]
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < first, f"{phase}: {losses}"


def test_summary_and_final_checkpoint(run):
    out, cfg, summary, _ = run
    assert summary["phases_done"] == PHASES and summary["checkpoint"] == str(out)
    model, cfg2, manifest = load_checkpoint(out)
    assert cfg2.model == cfg.model and cfg2.train == cfg.train and cfg2.data.specs == (DATA,)
    assert manifest["phases_done"] == PHASES and manifest["data_fingerprint"]
    for phase in PHASES:
        assert read_manifest(out / phase)["complete"]
    with torch.no_grad():
        ids, mask = model.tokenize(["a person walks forward"])
        p, _ = model.text_lexical(ids, mask)
    assert p.shape[0] == 1 and torch.isfinite(p).all()


def test_lexmmm_keeps_the_lexical_space_frozen(tmp_path):
    cfg = small_config(2, 4)
    train(cfg, [DATA], "lexmlm", tmp_path / "a")
    train(cfg, [DATA], "lexmlm,lexmmm", tmp_path / "a", resume=True)   # lexmlm skipped, lexmmm runs
    from safetensors.torch import load_file
    before = load_file(str(tmp_path / "a" / "lexmlm" / read_manifest(tmp_path / "a" / "lexmlm")["weights"]))
    after = load_file(str(tmp_path / "a" / read_manifest(tmp_path / "a")["weights"]))
    for name in before:
        same = torch.equal(before[name], after[name])
        if name.startswith(("text_backbone.", "mlm_head.", "text_decoder.")):
            assert same, f"{name} moved during LexMMM"
    assert any(not torch.equal(before[n], after[n]) for n in before if n.startswith("motion_encoder."))


@pytest.mark.parametrize("cider", [False, True])
def test_caption_tuning_moves_only_the_motion_decoder(tmp_path, cider):
    """Retrieval and the lexical vectors stay exactly as LexCMLP left them (with the CIDEr reward too)."""
    cfg = small_config(2, 4, ["train.caption.w_cider=1", "train.caption.full_mask=0"] if cider else [])
    train(cfg, [DATA], "lexmlm,lexmmm", tmp_path / "a")
    train(cfg, [DATA], "lexmlm,lexmmm,caption", tmp_path / "a", resume=True)
    from safetensors.torch import load_file
    before = load_file(str(tmp_path / "a" / "lexmmm" / read_manifest(tmp_path / "a" / "lexmmm")["weights"]))
    after = load_file(str(tmp_path / "a" / read_manifest(tmp_path / "a")["weights"]))
    moved = {n for n in before if not torch.equal(before[n], after[n])}
    assert moved and all(n.startswith("motion_decoder.") for n in moved), sorted(moved)
    assert set(after) - set(before) == {"caption_head.down", "caption_head.up"}     # fitted after the last step
    logged = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    caption = [r for r in logged if r.get("phase") == "caption"]
    assert caption and all(("cider_sampled" in r and 0 <= r["cider_greedy"] <= 10) == cider for r in caption)


def test_refuses_to_overwrite_a_run_and_bad_phase_names(tmp_path):
    cfg = small_config(1, 4)
    train(cfg, [DATA], "cmmm", tmp_path)
    with pytest.raises(SpecError, match="--resume"):
        train(cfg, [DATA], "cmmm", tmp_path)
    with pytest.raises(SpecError, match="unknown phase"):
        parse_phases("lexmlm,pretrain")
    assert parse_phases("all") == ["lexmlm", "cmmm", "lexmmm", "lexcmlp", "caption"]


def test_caption_head_rank_zero_fits_no_head(tmp_path):
    cfg = small_config(1, 4, ["train.caption.head_rank=0"])
    train(cfg, [DATA], "caption", tmp_path / "a")
    assert not load_checkpoint(tmp_path / "a")[0].caption_head.fitted


def test_caption_reward_needs_two_samples():
    from engine.config import preset
    from engine.config_overrides import apply_overrides
    from engine.train.phases import make_phase
    cfg = apply_overrides(preset("tiny"), ["train.caption.w_cider=1", "train.caption.cider_samples=1"])
    with pytest.raises(ValueError, match="cider_samples"):
        make_phase("caption", cfg.train).training_clips([])
