"""Every loss term against numbers worked out by hand on tiny tensors."""
import math

import pytest
import torch

from engine.models.lexical import FlopsWeightSchedule
from engine.train import losses as L

torch.set_num_threads(1)


def test_mlm_loss_averages_masked_positions_only():
    logits = torch.tensor([[[0.0, 0.0], [math.log(3), 0.0], [9.0, -9.0]]])
    labels = torch.tensor([[0, 0, -100]])
    # -log(1/2) and -log(3/4), the third position ignored.
    assert L.mlm_loss(logits, labels).item() == pytest.approx((math.log(2) + math.log(4 / 3)) / 2)


def test_mlm_loss_without_masked_positions_is_a_differentiable_zero():
    logits = torch.zeros(1, 2, 5, requires_grad=True)
    loss = L.mlm_loss(logits, torch.full((1, 2), -100))
    loss.backward()
    assert loss.item() == 0.0 and logits.grad is not None


def test_info_nce_symmetric_hand_value():
    a = torch.eye(2)
    # scores = I: each row's CE = -log(e / (e + 1)) = log(1 + 1/e), both directions alike.
    assert L.info_nce(a, a, temperature=1.0).item() == pytest.approx(math.log(1 + math.exp(-1)))
    # temperature 0.5 doubles the scores: log(1 + e^-2).
    assert L.info_nce(a, a, temperature=0.5).item() == pytest.approx(math.log(1 + math.exp(-2)))
    # asymmetric scores: a = [[1, 0], [1, 0]], b = I -> s = [[1, 0], [1, 0]]; rows: log(1+e^-1), log(1+e);
    # columns: s^T = [[1, 1], [0, 0]] -> log 2, log 2.
    s_rows = (math.log(1 + math.exp(-1)) + math.log(1 + math.e)) / 2
    expected = (s_rows + math.log(2)) / 2
    assert L.info_nce(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.eye(2)).item() == pytest.approx(expected)


def test_reconstruction_loss_is_mean_l2_over_real_frames():
    x = torch.zeros(1, 2, 1, 3)
    x_hat = torch.tensor([[[[3.0, 4.0, 0.0]], [[0.0, 0.0, 1.0]]]])
    assert L.reconstruction_loss(x_hat, x, torch.tensor([[True, False]])).item() == pytest.approx(5.0)
    assert L.reconstruction_loss(x_hat, x, torch.tensor([[True, True]])).item() == pytest.approx(3.0)
    # a longer reconstruction (whole patches) is cropped to the target length
    longer = torch.cat([x_hat, torch.full((1, 2, 1, 3), 99.0)], dim=1)
    assert L.reconstruction_loss(longer, x, torch.tensor([[True, True]])).item() == pytest.approx(3.0)


def test_reconstruction_loss_gradient_is_finite_at_a_perfect_fit():
    x_hat = torch.zeros(1, 2, 1, 3, requires_grad=True)
    L.reconstruction_loss(x_hat, torch.zeros(1, 2, 1, 3), torch.ones(1, 2, dtype=torch.bool)).backward()
    assert torch.isfinite(x_hat.grad).all()


def test_velocity_loss_uses_pairs_of_real_frames_at_20_fps():
    x = torch.zeros(1, 2, 1, 3)
    x_hat = torch.tensor([[[[0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]]]])
    assert L.velocity_loss(x_hat, x, torch.tensor([[True, True]])).item() == pytest.approx(20.0)  # 1 m/frame
    assert L.velocity_loss(x_hat, x, torch.tensor([[True, False]])).item() == 0.0


def test_flops_and_its_schedule():
    p = torch.tensor([[1.0, 0.0], [3.0, 2.0]])
    assert L.flops(p).item() == pytest.approx(2.0 ** 2 + 1.0 ** 2)  # batch means 2 and 1
    schedule = FlopsWeightSchedule(1e-3, ramp_steps=10)
    assert [schedule(s) for s in (0, 5, 10, 20)] == pytest.approx([0.0, 2.5e-4, 1e-3, 1e-3])


def test_phase_helpers_weigh_their_terms_with_the_paper_lambdas():
    logits = torch.tensor([[[0.0, 0.0], [math.log(3), 0.0]]])
    labels = torch.tensor([[0, 0]])
    mlm = (math.log(2) + math.log(4 / 3)) / 2
    p = torch.tensor([[1.0, 0.0], [3.0, 2.0]])
    total, parts = L.lexmlm_loss(logits, labels, logits, labels, p)
    assert total.item() == pytest.approx(0.1 * mlm + 1.0 * mlm + 1e-4 * 5.0)
    assert set(parts) == {"mlm_enc", "mlm_dec", "flops"}
    total, _ = L.lexmmm_loss(logits, labels, p)
    assert total.item() == pytest.approx(mlm + 1e-4 * 5.0)
    total, parts = L.lexcmlp_loss(torch.eye(2), torch.eye(2), logits, labels, logits, labels)
    # InfoNCE(I, I) = log(1 + 1/e); FLOPs of both = 2 x (0.25 + 0.25)
    assert total.item() == pytest.approx(math.log(1 + math.exp(-1)) + 1e-4 * 1.0 + 1e-2 * mlm + 1e-2 * mlm)
    # model.lex_score="cosine": the scale of p no longer reaches the logits (dot would give log(1 + e^-6))
    _, parts = L.lexcmlp_loss(2 * torch.eye(2), 3 * torch.eye(2), logits, labels, logits, labels, cosine=True)
    assert parts["info_nce"].item() == pytest.approx(math.log(1 + math.exp(-1)))
    _, parts = L.lexcmlp_loss(2 * torch.eye(2), 3 * torch.eye(2), logits, labels, logits, labels)
    assert parts["info_nce"].item() == pytest.approx(math.log(1 + math.exp(-6)), rel=1e-4)
    x = torch.zeros(1, 2, 1, 3)
    x_hat = torch.tensor([[[[3.0, 4.0, 0.0]], [[3.0, 4.0, 0.0]]]])
    e = torch.eye(2)
    total, parts = L.cmmm_loss([x_hat, x], x, torch.ones(1, 2, dtype=torch.bool), e, e, temperature=1.0)
    # recon: views give 5 and 0 -> 2.5; velocity: 0 (x_hat is static); InfoNCE(I, I) at T=1
    assert parts["recon"].item() == pytest.approx(2.5) and parts["velocity"].item() == pytest.approx(0.0)
    assert total.item() == pytest.approx(2.5 + 0.1 * math.log(1 + math.exp(-1)))


def test_cccl_hand_value_and_zero_when_consistent():
    scores = torch.zeros(2, 2)
    sim_tt = torch.tensor([[math.log(3), 0.0], [0.0, math.log(3)]])   # softmax rows: (3/4, 1/4)
    kl_text = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)  # KL(q || uniform)
    got = L.cccl_loss(scores, sim_tt, torch.zeros(2, 2), temperature=1.0)
    assert got.item() == pytest.approx(kl_text / 2)
    s = torch.randn(3, 3)
    assert L.cccl_loss(s, s, s.T, temperature=0.3).item() == pytest.approx(0.0, abs=1e-6)
    assert [L.linear_lambda(s, 10) for s in (0, 5, 10, 15)] == [0.0, 0.5, 1.0, 1.0]


def test_cccl_targets_receive_no_gradient():
    scores, sim_tt = torch.randn(3, 3, requires_grad=True), torch.randn(3, 3, requires_grad=True)
    L.cccl_loss(scores, sim_tt, torch.randn(3, 3)).backward()
    assert sim_tt.grad is None and scores.grad.abs().sum() > 0


def test_triplet_drop_loss_hand_values():
    s = torch.tensor([[0.9, 0.8, 0.1], [0.2, 0.5, 0.6], [0.0, 0.1, 0.7]])
    low = torch.zeros(3, 3)
    # text anchors: hinges 0.1 (row 0, j=1), 0.3 (row 1, j=2), 0 -> mean 0.4/3;
    # motion anchors: 0, 0.5 (col 1, i=0), 0.1 (col 2, i=1) -> mean 0.6/3.
    assert L.triplet_drop_loss(s, low, low, margin=0.2).item() == pytest.approx((0.4 / 3 + 0.6 / 3) / 2)
    # captions 0 and 1 nearly the same: pair (0, 1) is a false negative, dropped both ways
    sim_tt = low.clone()
    sim_tt[0, 1] = sim_tt[1, 0] = 0.95
    assert L.triplet_drop_loss(s, sim_tt, low, margin=0.2).item() == pytest.approx((0.3 / 3 + 0.1 / 3) / 2)
    # the motion threshold drops in the same way
    assert L.triplet_drop_loss(s, low, sim_tt, margin=0.2).item() == pytest.approx((0.3 / 3 + 0.1 / 3) / 2)


def test_triplet_sum_of_hinges_warm_up_differs_from_hardest():
    s = torch.tensor([[0.5, 0.6, 0.4], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    low = torch.zeros(3, 3)
    # row 0: hinges 0.3 and 0.1; every other anchor 0.
    assert L.triplet_drop_loss(s, low, low, hardest=False).item() == pytest.approx((0.4 / 3) / 2)
    assert L.triplet_drop_loss(s, low, low, hardest=True).item() == pytest.approx((0.3 / 3) / 2)


def test_mirror_consistency_hand_values_and_side_pairs():
    from engine.models.lexicon import Lexicon
    lexicon = Lexicon(torch.tensor([3, 5, 7, 9]), vocab_size=10)         # positions 0..3 hold ids 3, 5, 7, 9
    pairs = lexicon.position_pairs([(5, 9), (5, 4)])                     # (5, 4): 4 not in the lexicon -> dropped
    assert pairs.tolist() == [[1, 3]]
    p = torch.tensor([[1.0, 2.0, 0.0, 0.0]])                             # prefers id 5 ("left") over id 9
    exact = torch.tensor([[1.0, 0.0, 0.0, 2.0]])                         # its mirror prefers id 9: consistent
    assert L.mirror_consistency(p, exact, pairs).item() == pytest.approx(0.0, abs=1e-6)
    # a model preferring "left" for the mirror too: r = log(eps + 2/sqrt5) - log(eps), twice -> (2r)^2
    r = math.log(1e-3 + 2 / math.sqrt(5)) - math.log(1e-3)
    assert L.mirror_consistency(p, p, pairs).item() == pytest.approx((2 * r) ** 2, rel=1e-5)
    assert L.mirror_consistency(p * 7, exact * 0.1, pairs).item() == pytest.approx(0.0, abs=1e-6)  # scale-free


def test_mirror_joints_swaps_sides_and_is_its_own_inverse():
    import numpy as np
    from engine.skeleton import JOINT_INDEX, mirror_joints
    x = np.random.default_rng(0).standard_normal((5, 22, 3)).astype(np.float32)
    m = mirror_joints(x)
    lw, rw = JOINT_INDEX["l_wrist"], JOINT_INDEX["r_wrist"]
    np.testing.assert_allclose(m[:, lw], x[:, rw] * [-1, 1, 1])
    np.testing.assert_allclose(mirror_joints(m), x)
    t = torch.from_numpy(x)
    assert torch.allclose(mirror_joints(t), torch.from_numpy(m)) and torch.equal(t, torch.from_numpy(x))


def test_self_critical_loss_hand_values():
    log_p = torch.tensor([[-1.0, -2.0], [-3.0, -0.5]], requires_grad=True)   # (samples, B)
    rewards = torch.tensor([[2.0, 1.0], [0.5, 1.0]])
    greedy = torch.tensor([1.0, 1.5])
    loss = L.self_critical_loss(log_p, rewards, greedy)
    # advantages (1, -0.5), (-0.5, -0.5): -mean(1*-1 + -0.5*-2 + -0.5*-3 + -0.5*-0.5) = -(1.75) / 4
    assert loss.item() == pytest.approx(-1.75 / 4)
    loss.backward()
    # descending raises the log-probability of the better-than-baseline sample only
    assert log_p.grad[0, 0] < 0 and (log_p.grad[0, 1] > 0) and (log_p.grad[1] > 0).all()
    # the caption phase's baseline: each sample against the mean of the motion's other samples (here the
    # one other): advantages (1.5, 0), (-1.5, 0) -> -mean(1.5*-1 + 0 + -1.5*-3 + 0) = -3 / 4
    others = rewards.flip(0)
    assert L.self_critical_loss(log_p.detach(), rewards, others).item() == pytest.approx(-0.75)


def test_literal_part_keeps_only_the_captions_own_words():
    p = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5], [1.0, 1.0, 1.0, 1.0, 1.0]])
    ids = torch.tensor([[7, 2, 4, 0], [7, 3, 3, 9]])              # vocabulary ids; 7 = [CLS], 0 = [PAD]
    words = torch.tensor([[False, True, True, False], [False, True, True, False]])
    positions = lambda v: torch.where(v >= 0, v - 1, v)           # id i sits at lexicon position i - 1
    out = L.literal_part(p, ids, words, positions)
    assert torch.equal(out, torch.tensor([[0.0, 0.2, 0.0, 0.4, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]))


def test_literal_mix_scales_only_the_expansions():
    p = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5]])
    ids, words = torch.tensor([[7, 2, 4, 0]]), torch.tensor([[False, True, True, False]])
    positions = lambda v: torch.where(v >= 0, v - 1, v)
    out = L.literal_mix(p, ids, words, positions, 0.75)           # words at positions 1 and 3 keep their weight
    assert torch.allclose(out, torch.tensor([[0.025, 0.2, 0.075, 0.4, 0.125]]))
    assert L.literal_mix(p, ids, words, positions, 0.0) is p


def test_caption_word_ranking_hand_value_and_words_every_caption_holds():
    # Two motions on three lexicon positions; columns 0 and 1 are caption words, motion i holds word i only.
    p = torch.tensor([[3.0, 4.0, 0.0], [4.0, 3.0, 0.0]])
    has = torch.tensor([[True, False], [False, True]])
    s = torch.nn.functional.normalize(p, dim=-1) / 1.0          # rows (0.6, 0.8), (0.8, 0.6)
    # every direction's term is the same here: -log softmax picks 0.6 against 0.8
    one = -math.log(math.exp(0.6) / (math.exp(0.6) + math.exp(0.8)))
    value = L.caption_word_ranking(p, torch.tensor([0, 1]), has, temperature=1.0)
    assert value.item() == pytest.approx(one) and float(s[0, 0]) == pytest.approx(0.6)
    # each motion weighing its own word more ranks better
    assert L.caption_word_ranking(p.flip(1), torch.tensor([0, 1]), has, 1.0) < value
    # a word every caption holds ranks nothing among motions (the word -> motions direction skips it), and as
    # both words are each motion's positives, the motion -> words direction is -log 1
    both = torch.tensor([[True, True], [True, True]])
    per_motion_only = L.caption_word_ranking(p, torch.tensor([0, 1]), both, 1.0)
    assert per_motion_only.item() == pytest.approx(0.0, abs=1e-6)   # both words are positives: log 1 = 0


def test_caption_word_ranking_with_idf_prefers_a_caption_s_rarer_word():
    # one caption holds both words; word 1 is the rarer (idf 3 against 1): its motion should weigh it more
    has = torch.tensor([[True, True], [False, False]])
    idf = torch.tensor([1.0, 3.0])
    rare_first = torch.tensor([[1.0, 3.0], [1.0, 1.0]])
    common_first = torch.tensor([[3.0, 1.0], [1.0, 1.0]])
    cols = torch.tensor([0, 1])
    assert L.caption_word_ranking(rare_first, cols, has, 1.0, idf) < L.caption_word_ranking(common_first, cols, has, 1.0, idf)
    # without idf both words are positives alike: the two orders cost the same
    assert L.caption_word_ranking(rare_first, cols, has, 1.0).item() == pytest.approx(
        L.caption_word_ranking(common_first, cols, has, 1.0).item())
