"""SoPo (Eq. 17 / Algorithm 1) and Diffusion-DPO against hand computations; gradients reach the policy only."""
import math

import pytest
import torch

from engine.models.diffusion import CosineSchedule
from engine.models.generator import GeneratorConfig, MotionDenoiser
from engine.train.sopo_loss import (choose_pair, denoising_error, dpo_loss, frozen_copy,
                                    policy_and_reference_errors, preference_weight, sopo_loss)

torch.set_num_threads(1)


def neg_log_sigmoid(z):
    return math.log(1 + math.exp(-z))


def errors():
    # Row 0: the policy beats the reference on x^w by 0.2 and on x^l by 0.1; row 1: worse on x^w by 0.1.
    return (torch.tensor([0.5, 0.4]), torch.tensor([0.7, 0.3]),     # err_w policy, ref -> delta_w = -0.2, +0.1
            torch.tensor([0.6, 0.9]), torch.tensor([0.7, 0.5]))     # err_l policy, ref -> delta_l = -0.1, +0.4


def test_sopo_both_branches_by_hand():
    ew, ewr, el, elr = errors()
    reward_l = torch.tensor([0.2, 0.7])          # row 0 valuable (< tau), row 1 all good (>= tau)
    beta_w = torch.tensor([1.5, 1.2])
    loss, parts = sopo_loss(ew, ewr, el, elr, reward_l, tau=0.45, beta=0.8, beta_w=beta_w, scale=10.0)
    # row 0: -log sigma(-T w (beta_w d_w - beta d_l)) = -log sigma(-10 (1.5 * -0.2 - 0.8 * -0.1)) = -log sigma(2.2)
    row0 = neg_log_sigmoid(-10 * (1.5 * -0.2 - 0.8 * -0.1))
    # row 1: preferred only: -log sigma(-T w beta_w d_w) = -log sigma(-10 * 1.2 * 0.1) = -log sigma(-1.2)
    row1 = neg_log_sigmoid(-10 * 1.2 * 0.1)
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-5)
    assert parts["valuable_share"] == 0.5 and parts["all_good_share"] == 0.5
    assert parts["delta_w"] == pytest.approx(-0.05) and parts["delta_l"] == pytest.approx(0.15)


def test_sopo_threshold_is_strict_and_all_good_rows_ignore_the_unpreferred():
    ew, ewr, el, elr = errors()
    at_tau = sopo_loss(ew, ewr, el, elr, torch.tensor([0.45, 0.45]), scale=10.0)
    other_l = sopo_loss(ew, ewr, el * 5, elr, torch.tensor([0.45, 0.45]), scale=10.0)
    assert at_tau[1]["valuable_share"] == 0.0 and at_tau[0].item() == pytest.approx(other_l[0].item())
    # beta_w = None is beta; scale = T w_t defaults to 1000
    loss, _ = sopo_loss(ew, ewr, el, elr, torch.tensor([1.0, 1.0]))
    assert loss.item() == pytest.approx((neg_log_sigmoid(-1000 * -0.2) + neg_log_sigmoid(-1000 * 0.1)) / 2, rel=1e-5)


def test_dpo_by_hand_and_equal_to_sopo_when_every_row_is_valuable():
    ew, ewr, el, elr = errors()
    loss, parts = dpo_loss(ew, ewr, el, elr, beta=0.8, scale=10.0)
    rows = [neg_log_sigmoid(-0.8 * 10 * (-0.2 - -0.1)), neg_log_sigmoid(-0.8 * 10 * (0.1 - 0.4))]
    assert loss.item() == pytest.approx(sum(rows) / 2, rel=1e-5)
    sopo, _ = sopo_loss(ew, ewr, el, elr, torch.tensor([0.0, 0.0]), beta=0.8, scale=10.0)
    assert sopo.item() == pytest.approx(loss.item(), rel=1e-6)


def test_preference_weight_from_a_hand_made_cosine():
    # x_w = (1, 0 | 0, 0) over 2 frames x 2 features; samples: cos 0.6 and cos 0 with x_w -> S = 0.
    x_w = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    samples = torch.tensor([[[[0.6, 0.8], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]]])
    assert preference_weight(x_w, samples, beta=1.0, C=2.0).tolist() == pytest.approx([2.0])
    assert preference_weight(x_w, samples[:, :1], beta=0.5, C=2.0).tolist() == pytest.approx([0.5 * (2 - 0.6)])
    # The padded second frame is left out: there the sample would otherwise pull the cosine down.
    x_w2 = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    s2 = torch.tensor([[[[1.0, 0.0], [0.0, 3.0]]]])
    mask = torch.tensor([[True, False]])
    assert preference_weight(x_w2, s2, frame_mask=mask).tolist() == pytest.approx([1.0])      # cos = 1
    assert preference_weight(x_w2, s2).tolist() == pytest.approx([2 - 1 / math.sqrt(10)])     # cos = 1/sqrt(10)
    w = preference_weight(x_w.requires_grad_(), samples)
    assert not w.requires_grad


def test_choose_pair_modes():
    rewards = torch.tensor([[0.3, 0.1, 0.9, 0.5], [0.2, 0.8, 0.8, 0.2]])
    w, l = choose_pair(rewards, "sopo")
    assert w is None and l.tolist() == [1, 0]
    w, l = choose_pair(rewards, "online")
    assert w.tolist() == [2, 1] and l.tolist() == [1, 0]
    fixed = (torch.tensor([0, 1]), torch.tensor([3, 2]))
    assert choose_pair(None, "offline", offline_pairs=fixed) is fixed
    with pytest.raises(ValueError):
        choose_pair(None, "offline")
    with pytest.raises(ValueError):
        choose_pair(rewards, "best")


@pytest.mark.parametrize("variant", ["sopo", "dpo"])
def test_gradients_reach_the_policy_errors_only(variant):
    ew, ewr, el, elr = (e.clone().requires_grad_() for e in errors())
    if variant == "sopo":
        loss, _ = sopo_loss(ew, ewr, el, elr, torch.tensor([0.2, 0.2]), beta_w=torch.tensor([1.5, 1.2]), scale=10.0)
    else:
        loss, _ = dpo_loss(ew, ewr, el, elr, scale=10.0)
    loss.backward()
    assert ew.grad.abs().min() > 0 and el.grad.abs().min() > 0
    assert ewr.grad is None and elr.grad is None
    # lowering the policy's error on x^w lowers the loss, raising it on x^l lowers the loss
    assert (ew.grad > 0).all() and (el.grad < 0).all()


def tiny_denoiser(seed):
    torch.manual_seed(seed)
    cfg = GeneratorConfig.tiny(features=6, cond_dim=4, width=16, ff=32, depth=1, max_frames=8, dropout=0.0)
    return MotionDenoiser(cfg)


def test_a_frozen_reference_module_gets_no_gradients_and_stays_unchanged():
    policy = tiny_denoiser(0)
    ref = frozen_copy(policy)
    assert not ref.training and not any(p.requires_grad for p in ref.parameters())
    before = {k: v.clone() for k, v in ref.state_dict().items()}
    s, g = CosineSchedule(1000), torch.Generator().manual_seed(0)
    mask = torch.tensor([[True] * 8, [True] * 5 + [False] * 3])
    token = torch.randn(2, 4, generator=g)
    x_w, x_l = torch.randn(2, 8, 6, generator=g), torch.randn(2, 8, 6, generator=g)
    t, noise = torch.tensor([200, 600]), torch.randn(2, 8, 6, generator=g)   # one t and eps for both motions
    pol = lambda x_t, tt: policy(x_t, tt, mask, token)  # noqa: E731
    rf = lambda x_t, tt: ref(x_t, tt, mask, token)  # noqa: E731
    opt = torch.optim.AdamW(list(policy.parameters()) + list(ref.parameters()), lr=1e-2, weight_decay=0.1)
    policy_before = [p.clone() for p in policy.parameters()]
    for _ in range(2):
        ew, ewr = policy_and_reference_errors(pol, rf, s, x_w, t, noise, mask)
        el, elr = policy_and_reference_errors(pol, rf, s, x_l, t, noise, mask)
        assert not ewr.requires_grad and not elr.requires_grad
        loss, _ = sopo_loss(ew, ewr, el, elr, torch.tensor([0.2, 0.9]), beta_w=torch.tensor([1.5, 1.0]), scale=10.0)
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is None for p in ref.parameters())
        opt.step()
    assert all(torch.equal(v, before[k]) for k, v in ref.state_dict().items())
    assert any(not torch.equal(a, b) for a, b in zip(policy_before, policy.parameters()))
    # At the start the policy is the reference: identical errors, so every delta is zero.
    fresh = tiny_denoiser(0)
    e, er = policy_and_reference_errors(lambda x, tt: fresh(x, tt, mask, token),
                                        lambda x, tt: frozen_copy(fresh)(x, tt, mask, token), s, x_w, t, noise, mask)
    assert torch.allclose(e, er)


def test_reference_errors_carry_no_graph_even_for_a_trainable_module():
    m = tiny_denoiser(1)
    mask, token = torch.ones(1, 8, dtype=torch.bool), torch.randn(1, 4)
    f = lambda x, tt: m(x, tt, mask, token)  # noqa: E731
    x0, t, noise = torch.randn(1, 8, 6), torch.tensor([10]), torch.randn(1, 8, 6)
    e, er = policy_and_reference_errors(f, f, CosineSchedule(1000), x0, t, noise, mask)
    assert e.requires_grad and not er.requires_grad
    assert torch.allclose(e, er)
    x_t = CosineSchedule(1000).q_sample(x0, t, noise)
    assert torch.allclose(e, denoising_error(f(x_t, t), x0, mask))


def test_the_generator_loss_error_is_the_base_training_loss_per_sample():
    """train.sopo.error=generator_loss: each row's error is that row's generator_loss with the generator's weights;
    "features" is the papers' feature error."""
    from dataclasses import replace
    from types import SimpleNamespace

    import numpy as np

    from engine.config import preset
    from engine.models.generator import generator_loss, masked_mse
    from engine.train.sopo_error import denoising_error_fn

    cfg = preset("tiny")
    normalizer = SimpleNamespace(mean=np.zeros(263, np.float32), std=np.ones(263, np.float32) * 0.1)
    assert denoising_error_fn(cfg, normalizer, torch.device("cpu")) is masked_mse
    cfg = replace(cfg, train=replace(cfg.train, sopo=replace(cfg.train.sopo, error="generator_loss")))
    fn = denoising_error_fn(cfg, normalizer, torch.device("cpu"))
    torch.manual_seed(0)
    x0, x0_hat = torch.randn(3, 12, 263), torch.randn(3, 12, 263)
    mask = torch.ones(3, 12, dtype=torch.bool)
    mask[2, 8:] = False
    per_row = fn(x0_hat, x0, mask)
    g = cfg.train.generator
    assert g.w_vel > 0 and g.w_foot > 0
    decoder = _decoder(normalizer)
    assert g.geometry == "root"   # the preset's: the steps in the root frame
    for row in range(3):
        alone, parts = generator_loss(x0_hat[row:row + 1], x0[row:row + 1], mask[row:row + 1],
                                      to_joints=decoder, w_pos=g.w_pos, w_vel=g.w_vel, w_foot=g.w_foot,
                                      to_steps=decoder.steps)
        assert per_row[row].item() == pytest.approx(alone.item(), rel=1e-5)
        assert per_row[row].item() > parts["simple"] * 1.0001    # the geometric terms count


def _decoder(normalizer):
    from engine.models.features_torch import FeatureDecoder
    return FeatureDecoder(normalizer.mean, normalizer.std, torch.device("cpu"))
