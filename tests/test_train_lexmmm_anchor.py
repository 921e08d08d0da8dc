"""LexMMM's anchoring of the motion side in the lexical space: decoder start and lexical distillation."""
import math

import torch

from engine.config_overrides import apply_overrides
from engine.checkpoint import build_model
from engine.train.losses import lexical_distillation
from engine.train.phases import make_phase
from tests.test_train_helpers import small_config


def test_lexical_distillation_is_one_minus_cosine_with_a_fixed_target():
    student = torch.tensor([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]], requires_grad=True)
    teacher = torch.tensor([[1.0, 1.0, 0.0], [0.0, 3.0, 0.0]], requires_grad=True)
    loss = lexical_distillation(student, teacher)
    # row 0: cos = 1 / (sqrt2 * sqrt2) = 0.5 -> 0.5; row 1: cos = 1 -> 0; mean 0.25
    assert math.isclose(loss.item(), 0.25, rel_tol=1e-6)
    loss.backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0


def test_lexmmm_starts_its_motion_decoder_as_the_text_decoder():
    cfg = small_config(2)
    model = build_model(cfg)
    with torch.no_grad():
        for p in model.text_decoder.parameters():
            p.add_(0.5)
    make_phase("lexmmm", cfg.train).begin(model)
    for (name, a), (_, b) in zip(model.motion_decoder.state_dict().items(), model.text_decoder.state_dict().items()):
        assert torch.equal(a, b), name
    off = apply_overrides(cfg, ["train.lexmmm.decoder_from_text=false"])
    fresh = build_model(off)
    before = [t.clone() for t in fresh.motion_decoder.state_dict().values()]
    make_phase("lexmmm", off.train).begin(fresh)
    assert all(torch.equal(a, b) for a, b in zip(before, fresh.motion_decoder.state_dict().values()))


def test_lexcmlp_can_keep_the_shared_lm_head_fixed():
    cfg = small_config(2)
    model = build_model(cfg)
    trains = make_phase("lexcmlp", cfg.train).trainable(model)
    assert any(n.startswith("mlm_head.") for n in trains)
    frozen = apply_overrides(cfg, ["train.lexcmlp.freeze_head=true"])
    trains = make_phase("lexcmlp", frozen.train).trainable(model)
    assert not any(n.startswith("mlm_head.") for n in trains) and any(n.startswith("motion_encoder.") for n in trains)
