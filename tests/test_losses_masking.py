"""Masking utilities (exact counts, specials untouched, 80/10/10) and the mask-ratio curriculum."""
import pytest
import torch

from engine.models.masking import curriculum_ratio, mask_motion_tokens, mask_tokens

torch.set_num_threads(1)
CLS, SEP, PAD, MASK = 101, 102, 0, 103


def batch():
    ids = torch.tensor([[CLS, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, SEP],
                        [CLS, 20, 21, 22, SEP, PAD, PAD, PAD, PAD, PAD, PAD, PAD]])
    return ids, ids != PAD


def test_decoder_masking_at_100_percent_masks_every_word_and_nothing_else():
    ids, attn = batch()
    masked, labels = mask_tokens(ids, attn, 1.0, MASK, [CLS, SEP, PAD, MASK])
    words = attn & (ids != CLS) & (ids != SEP)
    assert (masked[words] == MASK).all() and (masked[~words] == ids[~words]).all()
    assert (labels[words] == ids[words]).all() and (labels[~words] == -100).all()


def test_exact_counts_per_row():
    ids, attn = batch()
    g = torch.Generator().manual_seed(0)
    masked, labels = mask_tokens(ids, attn, 0.3, MASK, [CLS, SEP, PAD], generator=g)
    assert (labels != -100).sum(1).tolist() == [3, 1]   # round(0.3 x 10), round(0.3 x 3) = 1
    assert ((masked == MASK) == (labels != -100)).all()  # decoder style: every chosen one is [MASK]
    masked, labels = mask_tokens(ids, attn, 0.0, MASK, [CLS, SEP, PAD])
    assert (labels == -100).all() and torch.equal(masked, ids)


def test_bert_80_10_10_proportions():
    ids = torch.full((400, 50), 7)
    attn = torch.ones_like(ids, dtype=torch.bool)
    g = torch.Generator().manual_seed(1)
    masked, labels = mask_tokens(ids, attn, 0.5, MASK, [], generator=g, vocab_size=30522)
    chosen = labels != -100
    n = chosen.sum().item()
    assert n == 400 * 25
    frac_mask = (masked[chosen] == MASK).float().mean().item()
    frac_same = (masked[chosen] == 7).float().mean().item()
    assert frac_mask == pytest.approx(0.8, abs=0.02) and frac_same == pytest.approx(0.1, abs=0.02)
    assert (masked[~chosen] == 7).all()


def test_motion_token_masking_only_hides_real_patches():
    token_mask = torch.tensor([[True] * 4 + [False] * 4, [True] * 8])
    hidden = mask_motion_tokens(token_mask, 7, 0.5, torch.Generator().manual_seed(0))
    assert hidden.shape == (2, 8, 7)
    assert hidden.sum((1, 2)).tolist() == [14, 28] and not hidden[0, 4:].any()


def test_curriculum_ratio_is_linear_and_clamped():
    assert [curriculum_ratio(s, 100, 0.5, 1.0) for s in (-5, 0, 50, 100, 300)] == [0.5, 0.5, 0.75, 1.0, 1.0]
    assert curriculum_ratio(3, 0, 0.4, 1.0) == 1.0
