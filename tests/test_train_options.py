"""The options from the other seeds and the tiny preset's own LexCMLP terms, each checked for its own effect.

1. Each option's term on hand-made inputs: CCCL against the closed form of two-way softmaxes, DropTriple /
   MildTriple on a batch with a near-duplicate caption, 1/LER on features of known rank.
2. On one real batch through LexCMLP.loss: each term equals the same term recomputed from the model's own
   vectors, and switching an option on adds exactly its weighted term (every other term unchanged).
3. In real (tiny) training runs: every step's loss is the weighted sum of its logged terms, and step 0
   (same weights, same batch, same seed as the plain run) differs from the plain run by exactly the
   option's weighted term. MoT++ input and joint-dataset training run end to end.
"""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.config import TrainConfig
from engine.config_overrides import apply_overrides
from engine.metrics.feature_health import effective_rank, local_effective_rank
from engine.models.lexical import keep_top_k
from engine.models.motion_encoder import MotionTokens, token_groups
from engine.skeleton import mirror_joints
from engine.train import losses as L
from engine.train.phases import make_phase
from engine.train.phases.lexcmlp_ours import side_pairs, word_tokens
from engine.train.phases.options import alignment_options, inverse_ler_term
from engine.train.run import train
from tests.test_train_helpers import DATA, small_config

torch.set_num_threads(1)


# ---- 1. hand-made inputs ------------------------------------------------------------------------
def bernoulli_kl(q_first: float, p_first: float) -> float:
    """KL(q || p) of two two-way distributions given by their first probabilities."""
    return q_first * math.log(q_first / p_first) + (1 - q_first) * math.log((1 - q_first) / (1 - p_first))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_cccl_on_hand_made_scores_equals_the_closed_form():
    # Two items; the vectors are not unit length: the option works on their cosines.
    s60 = math.sqrt(3) / 2
    text = torch.tensor([[2.0, 0.0], [0.0, 3.0]])                    # cosines: identity
    motion = torch.tensor([[5.0, 0.0], [0.5 * 4, s60 * 4]])          # second motion at 60 degrees
    scores = torch.tensor([[1.0, 0.5], [0.0, s60]])                  # text x motion cosines
    sim_tt, sim_mm = torch.eye(2), torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    T = 0.5
    # softmax over two entries with logits (a, b) / T puts sigmoid((a - b) / T) on the first
    text_rows = [bernoulli_kl(sigmoid(1 / T), sigmoid(0.5 / T)), bernoulli_kl(sigmoid(-1 / T), sigmoid(-s60 / T))]
    motion_rows = [bernoulli_kl(sigmoid(0.5 / T), sigmoid(1 / T)),
                   bernoulli_kl(sigmoid(-0.5 / T), sigmoid((0.5 - s60) / T))]
    closed = (sum(text_rows) / 2 + sum(motion_rows) / 2) / 2
    assert closed > 0.01
    assert L.cccl_loss(scores, sim_tt, sim_mm, T).item() == pytest.approx(closed, rel=1e-5)
    cfg = TrainConfig(cccl=True, cccl_weight=2.0, cccl_temperature=T)
    loss, terms = alignment_options(cfg, text, motion, step=1, total_steps=4)
    assert terms["cccl"].item() == pytest.approx(closed, rel=1e-5)
    assert terms["cccl_weight"] == pytest.approx(2.0 * 1 / 4)                    # linear ramp from 0
    assert loss.item() == pytest.approx(0.5 * closed, rel=1e-5)
    assert alignment_options(TrainConfig(), text, motion, 1, 4) == (0.0, {})    # off: no term at all


# Four items on the unit circle (angles in degrees). Caption 1 is a near-duplicate of caption 0
# (cos 20 = 0.94 > 0.9): pair (0, 1) is a false negative. Captions 2 and 3 are close but below the
# threshold (cos 29 = 0.875): kept. Motions are all further apart than 0.9.
TEXT_ANGLES, MOTION_ANGLES, MARGIN = (0, 20, 88, 117), (0, 90, 130, 195), 0.2
DROPPED = {(0, 1), (1, 0)}


def circle(angles):
    return torch.tensor([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in angles]) * 3.0


def expected_triplet(dropped, reduce):
    s = lambda i, j: math.cos(math.radians(TEXT_ANGLES[i] - MOTION_ANGLES[j]))   # text i x motion j
    n = len(TEXT_ANGLES)
    negatives = [(i, j) for i in range(n) for j in range(n) if i != j and (i, j) not in dropped]
    text = [reduce([max(0.0, MARGIN - s(i, i) + s(i, j)) for a, j in negatives if a == i] or [0.0]) for i in range(n)]
    motion = [reduce([max(0.0, MARGIN - s(j, j) + s(i, j)) for i, b in negatives if b == j] or [0.0]) for j in range(n)]
    return (sum(text) / n + sum(motion) / n) / 2


def test_droptriple_and_mildtriple_drop_exactly_the_near_duplicate_negatives():
    t, m = circle(TEXT_ANGLES), circle(MOTION_ANGLES)
    cos_tt = torch.nn.functional.normalize(t, dim=-1) @ torch.nn.functional.normalize(t, dim=-1).T
    above = {(i, j) for i in range(4) for j in range(4) if i != j and cos_tt[i, j] > 0.9}
    assert above == DROPPED and 0.85 < cos_tt[2, 3] < 0.9
    drop_sum, mild_max = expected_triplet(DROPPED, sum), expected_triplet(DROPPED, max)
    warm_sum = expected_triplet(set(), sum)
    assert len({round(v, 4) for v in (drop_sum, mild_max, warm_sum)}) == 3   # the batch tells the three apart
    for mode, after_warm_up in (("drop", drop_sum), ("mild", mild_max)):
        cfg = TrainConfig(triplet=mode, triplet_warmup=0.5, triplet_weight=2.0, triplet_margin=MARGIN,
                          triplet_threshold=0.9)
        loss, terms = alignment_options(cfg, t, m, step=2, total_steps=4)       # 2 >= 0.5 * 4: after the warm-up
        assert terms["triplet"].item() == pytest.approx(after_warm_up, abs=1e-6), mode
        assert loss.item() == pytest.approx(2.0 * after_warm_up, abs=1e-6)
        _, terms = alignment_options(cfg, t, m, step=1, total_steps=4)          # warm-up: SH loss, nothing dropped
        assert terms["triplet"].item() == pytest.approx(warm_sum, abs=1e-6), mode


def known_rank_tokens():
    """(2, 6, 7, 4) part tokens whose (6 x 4) matrix for part p has rank 1 + p % 4, equal singular values."""
    rng = np.random.default_rng(0)
    tokens = np.zeros((2, 6, 7, 4))
    ranks = [1 + p % 4 for p in range(7)]
    for b in range(2):
        for p, r in enumerate(ranks):
            u, _ = np.linalg.qr(rng.normal(size=(6, 4)))
            v, _ = np.linalg.qr(rng.normal(size=(4, 4)))
            tokens[b, :, p] = 1.7 * u[:, :r] @ v[:r]
    return torch.tensor(tokens, dtype=torch.float32), ranks


def test_inverse_ler_equals_feature_health_on_the_same_per_joint_features():
    # The regulariser is the mean over per-joint matrices of 1 / erank (LoDE Alg. 1, feature_health's
    # inverse_ler_loss); LER itself is the mean erank, so the two agree as 1 / LER when every matrix has
    # the same erank (the last case below) and are compared matrix by matrix otherwise.
    tokens, ranks = known_rank_tokens()
    groups = token_groups("parts")
    joint_to_token = torch.empty(22, dtype=torch.long)
    for t, group in enumerate(groups):
        joint_to_token[list(group)] = t
    mt = MotionTokens(tokens, torch.ones(2, 6, dtype=torch.bool), None, joint_to_token)
    loss, terms = inverse_ler_term(TrainConfig(inverse_ler=0.1), mt)
    per_joint = tokens.numpy()[:, :, joint_to_token.numpy()]                  # (B, Tp, 22, C)
    matrices = [per_joint[b, :, j] for b in range(2) for j in range(22)]
    by_feature_health = np.mean([1 / effective_rank(a) for a in matrices])
    by_rank = np.mean([1 / ranks[joint_to_token[j]] for _ in range(2) for j in range(22)])
    assert by_feature_health == pytest.approx(by_rank, rel=1e-6)             # erank of equal singular values = rank
    assert terms["inverse_ler"].item() == pytest.approx(by_feature_health, rel=1e-5)
    assert loss.item() == pytest.approx(0.1 * by_feature_health, rel=1e-5)
    one = MotionTokens(tokens[:1, :, 2:3].expand(1, 6, 7, 4).contiguous(), mt.token_mask[:1], None, joint_to_token)
    assert inverse_ler_term(TrainConfig(inverse_ler=1.0), one)[0].item() == pytest.approx(
        1 / local_effective_rank(tokens[:1, :, 2].numpy()), rel=1e-5)    # every joint the same matrix: 1 / LER
    assert inverse_ler_term(TrainConfig(), mt) == (0.0, {})


# ---- 2. one real batch through LexCMLP.loss ------------------------------------------------------
@pytest.fixture(scope="module")
def real():
    from engine.train.batching import Batcher, text_corpus
    from engine.checkpoint import build_model
    from engine.train.run import open_data
    from engine.train.run_state import window_data_config

    cfg = small_config(4)
    dataset = open_data([DATA])
    clips = dataset.split("train")
    torch.manual_seed(0)
    model = build_model(cfg, text_corpus(clips, cfg.data)).eval()             # eval: no dropout
    batch = Batcher("pair", dataset, clips, window_data_config(cfg), 8, 0, "lexcmlp", model.tokenize).batch(0)
    with torch.no_grad():
        ids, mask = batch["text_ids"], batch["text_mask"]
        p_t, _ = model.text_lexical(ids, mask)
        p_m, tokens = model.motion_lexical(batch["joints"], batch["frame_mask"])
        p_mirrored, _ = model.motion_lexical(mirror_joints(batch["joints"]), batch["frame_mask"])
    return dict(cfg=cfg, model=model, batch=batch, p_t=p_t, p_m=p_m, tokens=tokens, p_mirrored=p_mirrored)


def phase_loss(real, sets=(), step=2, total=4, model_cfg=None):
    model = real["model"]
    cfg = apply_overrides(real["cfg"], list(sets))
    phase = make_phase("lexcmlp", cfg.train)
    previous = model.cfg
    model.cfg = model_cfg or previous
    try:
        phase.starting_weights(model)
        torch.manual_seed(1)                                   # the decoder masks: the same draws every call
        with torch.no_grad():
            loss, terms = phase.loss(model, real["batch"], step, total)
    finally:
        model.cfg = previous
    return loss.item(), {k: float(v) for k, v in terms.items()}


@pytest.fixture(scope="module")
def base(real):
    return phase_loss(real)


def top_k_cosines(real):
    k = real["model"].cfg.lex_top_k
    t = torch.nn.functional.normalize(keep_top_k(real["p_t"], k), dim=-1)
    m = torch.nn.functional.normalize(keep_top_k(real["p_m"], k), dim=-1)
    return t @ m.T, t @ t.T, m @ m.T


def assert_only_added(base, on, term, weight):
    """The option's run = the base run + weight * its term; every base term the same."""
    (base_loss, base_terms), (loss, terms) = base, on
    for name, value in base_terms.items():
        assert terms[name] == pytest.approx(value, abs=1e-6), name
    assert loss - base_loss == pytest.approx(weight * terms[term], abs=1e-5)
    assert weight * terms[term] != pytest.approx(0.0, abs=1e-4)       # a term that is there


def test_phase_cccl_term_is_the_kl_of_the_batchs_cosines(real, base):
    loss, terms = on = phase_loss(real, ["train.cccl=true"], step=2, total=4)
    scores, sim_tt, sim_mm = top_k_cosines(real)
    assert terms["cccl"] == pytest.approx(L.cccl_loss(scores, sim_tt, sim_mm, 0.1).item(), rel=1e-5)
    assert terms["cccl_weight"] == pytest.approx(0.5)                  # step 2 of 4
    assert_only_added(base, on, "cccl", 0.5)


@pytest.mark.parametrize("mode", ["drop", "mild"])
def test_phase_triplet_term_drops_after_its_warm_up(real, base, mode):
    scores, sim_tt, sim_mm = top_k_cosines(real)
    sets = [f"train.triplet={mode}", "train.triplet_warmup=0.5", "train.triplet_weight=2"]
    values = []
    for step, threshold, hardest in ((1, float("inf"), False), (3, 0.9, mode == "mild")):
        on = phase_loss(real, sets, step=step, total=4)
        expected = L.triplet_drop_loss(scores, sim_tt, sim_mm, 0.2, threshold, threshold, hardest=hardest).item()
        assert on[1]["triplet"] == pytest.approx(expected, abs=1e-6), step
        assert_only_added(phase_loss(real, step=step, total=4), on, "triplet", 2.0)
        values.append(on[1]["triplet"])
    assert ((sim_tt > 0.9) | (sim_mm > 0.9)).fill_diagonal_(False).any()   # this batch has false negatives
    assert values[1] < values[0]                                           # and they were dropped


def test_phase_inverse_ler_is_feature_healths_on_the_motion_tokens(real, base):
    on = phase_loss(real, ["train.inverse_ler=0.1"])
    per_joint = real["tokens"].per_joint_features().numpy()              # (B, Tp, 22, C)
    expected = np.mean([1 / effective_rank(per_joint[b, :, j]) for b in range(per_joint.shape[0]) for j in range(22)])
    assert on[1]["inverse_ler"] == pytest.approx(expected, rel=1e-4)
    assert_only_added(base, on, "inverse_ler", 0.1)


def test_phase_mirror_and_text_anchor_are_added_with_their_weights(real, base):
    model = real["model"]
    mirror = L.mirror_consistency(real["p_m"], real["p_mirrored"], side_pairs(model)).item()
    assert base[1]["mirror"] == pytest.approx(mirror, rel=1e-5)
    for weight, term in (("w_mirror", "mirror"), ("w_text_anchor", "text_anchor")):
        off = phase_loss(real, [f"train.lexcmlp.{weight}=0"])
        assert term not in off[1]
        on = phase_loss(real, [f"train.lexcmlp.{weight}=0.5"])        # the tiny preset's weight is 1
        assert on[1][term] == pytest.approx(base[1][term], abs=1e-6)
        assert_only_added(off, on, term, 0.5)


def literal_target(real, share):
    """p_t with the caption's own words at full weight and every other term at 1 - share."""
    batch, model, p_t = real["batch"], real["model"], real["p_t"]
    words = word_tokens(model, batch["text_ids"], batch["text_mask"])
    own = torch.zeros_like(p_t, dtype=torch.bool)
    for row, (ids, is_word) in enumerate(zip(batch["text_ids"], words)):
        for term in ids[is_word].tolist():
            position = int(model.lexicon.position[term])
            if position >= 0:
                own[row, position] = True
    assert own.any(1).all() and (p_t[own] > 0).any()
    return torch.where(own, p_t, (1 - share) * p_t)


def test_phase_literal_shares_change_only_the_pull_and_anchor_targets(real, base):
    p_t, p_m = real["p_t"], real["p_m"]
    # the tiny preset: 0.75 of each target kept on the caption's own words only
    target = literal_target(real, 0.75)
    assert base[1]["distill"] == pytest.approx(L.lexical_distillation(p_m, target).item(), abs=1e-6)
    # at the phase's start the anchor is the model's own p_t: only the literal share makes the term non-zero
    assert base[1]["text_anchor"] == pytest.approx(L.lexical_distillation(p_t, target).item(), abs=1e-6)
    assert base[1]["text_anchor"] > 1e-3
    halves = ["train.lexcmlp.w_distill=0.5", "train.lexcmlp.w_text_anchor=0.5"]   # the tiny preset's are 1
    on = phase_loss(real, halves)
    for sets, term, expected in ((["train.lexcmlp.distill_literal=0"], "distill", L.lexical_distillation(p_m, p_t)),
                                 (["train.lexcmlp.anchor_literal=0"], "text_anchor", torch.tensor(0.0))):
        off = phase_loss(real, halves + sets)
        assert off[1][term] == pytest.approx(expected.item(), abs=1e-6), term
        assert {k: v for k, v in off[1].items() if k != term} == pytest.approx(
            {k: v for k, v in on[1].items() if k != term}, abs=1e-6)
        assert on[0] - off[0] == pytest.approx(0.5 * (on[1][term] - off[1][term]), abs=1e-5)


def test_phase_dot_all_terms_scores_raw_full_vectors(real, base):
    model, p_t, p_m = real["model"], real["p_t"], real["p_m"]
    dot = replace(model.cfg, lex_score="dot", lex_top_k=0)
    loss, terms = phase_loss(real, ["train.lex_temperature=1.0"], model_cfg=dot)
    assert terms["info_nce"] == pytest.approx(L.info_nce(p_m, p_t, 1.0).item(), rel=1e-5)
    assert terms["flops"] == pytest.approx((L.flops(p_m) + L.flops(p_t)).item(), rel=1e-5)
    # the tiny preset: cosines at T = 0.05 over each vector's 64 heaviest terms, FLOPs on those terms
    top_m, top_t = keep_top_k(p_m, 64), keep_top_k(p_t, 64)
    assert base[1]["info_nce"] == pytest.approx(L.info_nce(top_m, top_t, 0.05, normalize=True).item(), rel=1e-5)
    assert base[1]["flops"] == pytest.approx((L.flops(top_m) + L.flops(top_t)).item(), rel=1e-5)
    for name in ("aux_text", "aux_motion", "distill", "mirror", "text_anchor"):   # scoring-independent terms
        assert terms[name] == pytest.approx(base[1][name], abs=1e-6), name
    c = real["cfg"].train.lexcmlp
    rest = c.w_distill * base[1]["distill"] + c.w_mirror * base[1]["mirror"] + c.w_text_anchor * base[1]["text_anchor"]
    for total, parts in ((loss, terms), base):
        weighted = (c.w_info * parts["info_nce"] + c.w_flops * parts["flops"] + rest
                    + c.w_aux_text * parts["aux_text"] + c.w_aux_motion * parts["aux_motion"])
        assert total == pytest.approx(weighted, abs=1e-5)


# ---- 3. real training runs ------------------------------------------------------------------------
OPTIONS = {
    "cccl": ["train.cccl=true"],
    "mildtriple": ["train.triplet=mild", "train.triplet_warmup=0.5"],
    "droptriple": ["train.triplet=drop", "train.triplet_warmup=0.5"],
    "inverse_ler": ["train.inverse_ler=0.1"],
    # the tiny preset's LexCMLP defaults, switched back to the paper's
    "dot_all_terms": ["model.lex_score=dot", "model.lex_top_k=0", "train.lex_temperature=1.0"],
    "mirror_off": ["train.lexcmlp.w_mirror=0"],
    # ours, for the words captions use, on in the tiny preset: each switched off alone
    "text_anchor_off": ["train.lexcmlp.w_text_anchor=0"],
    "distill_literal_off": ["train.lexcmlp.distill_literal=0"],
    "anchor_literal_off": ["train.lexcmlp.anchor_literal=0"],
}
# term -> its weight in the total, from the run's config and (CCCL) the logged ramp
WEIGHTS = {"info_nce": lambda c, r: c.lexcmlp.w_info, "flops": lambda c, r: c.lexcmlp.w_flops,
           "aux_text": lambda c, r: c.lexcmlp.w_aux_text, "aux_motion": lambda c, r: c.lexcmlp.w_aux_motion,
           "distill": lambda c, r: c.lexcmlp.w_distill, "mirror": lambda c, r: c.lexcmlp.w_mirror,
           "text_anchor": lambda c, r: c.lexcmlp.w_text_anchor, "cccl": lambda c, r: r["cccl_weight"],
           "triplet": lambda c, r: c.triplet_weight, "inverse_ler": lambda c, r: c.inverse_ler}
# what each option changes at step 0: an added term, or the one existing term it changes
ADDED = {"cccl": "cccl", "mildtriple": "triplet", "droptriple": "triplet", "inverse_ler": "inverse_ler"}
REMOVED = {"mirror_off": "mirror", "text_anchor_off": "text_anchor"}
CHANGED = {"dot_all_terms": {"info_nce", "flops"}, "distill_literal_off": {"distill"},
           "anchor_literal_off": {"text_anchor"}}


def records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def terms_of(record):
    return {k: record[k] for k in WEIGHTS if k in record}


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain") / "run"
    train(small_config(4), [DATA], "lexcmlp", out)
    return records(out)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_option_in_training_changes_exactly_its_term(name, plain, tmp_path):
    cfg = small_config(4, extra=OPTIONS[name])
    train(cfg, [DATA], "lexcmlp", tmp_path / name)
    logged = records(tmp_path / name)
    assert [r["step"] for r in logged] == [1, 2, 3, 4]
    for r in logged:      # every step: the loss is the weighted sum of the terms it logs, all finite
        assert all(math.isfinite(v) for v in terms_of(r).values())
        weighted = sum(WEIGHTS[k](cfg.train, r) * v for k, v in terms_of(r).items())
        assert r["loss"] == pytest.approx(weighted, abs=1e-5)
    if name == "cccl":
        assert [r["cccl_weight"] for r in logged] == pytest.approx([0.0, 0.25, 0.5, 0.75])   # linear ramp
    # step 0: same weights, batch and seed as the plain run, so only the option's own term differs
    first, ref = terms_of(logged[0]), terms_of(plain[0])
    own = {ADDED.get(name)} | {REMOVED.get(name)} | CHANGED.get(name, set())
    assert {k: v for k, v in first.items() if k not in own} == pytest.approx(
        {k: v for k, v in ref.items() if k not in own}, abs=1e-6)
    if name in ADDED:   # (CCCL's weight is 0 at step 0: its addition is checked at step 2 in part 2)
        term = ADDED[name]
        assert term not in ref
        weight = WEIGHTS[term](cfg.train, logged[0])
        assert logged[0]["loss"] - plain[0]["loss"] == pytest.approx(weight * first[term], abs=1e-5)
    elif name in REMOVED:
        term = REMOVED[name]
        assert not any(term in r for r in logged) and all(term in r for r in plain) and ref[term] > 0
        weight = WEIGHTS[term](small_config(4).train, plain[0])
        assert plain[0]["loss"] - logged[0]["loss"] == pytest.approx(weight * ref[term], abs=1e-5)
    else:
        assert all(first[k] != pytest.approx(ref[k], abs=1e-6) for k in CHANGED[name])


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
