"""Lexical head (Eq. 1-3): SPLADE pooling, window pooling of motion tokens, restricted lexicon, Eq. 4's sg."""
import math

import pytest
import torch
import torch.nn as nn

from engine.models.bottleneck_decoder import BottleneckDecoder
from engine.models.config import ModelConfig
from engine.models.lexical import keep_top_k, lexical_pool, motion_lexical, window_pool
from engine.models.lexicon import Lexicon
from engine.models.mlm_head import MLMHead

torch.set_num_threads(1)


def test_lexical_pool_hand_value_sparse_nonnegative_saturated():
    logits = torch.tensor([[[-1.0, 0.5, -3.0], [math.e - 1, -2.0, -1.0], [100.0, 100.0, 100.0]]])
    p = lexical_pool(logits, torch.tensor([[True, True, False]]))   # the padded position is ignored
    assert p.tolist()[0] == pytest.approx([1.0, math.log(1.5), 0.0])
    big = lexical_pool(torch.tensor([[[1e6]]]), torch.ones(1, 1, dtype=torch.bool))
    assert big.item() == pytest.approx(math.log1p(1e6))           # log-saturated: ~13.8, not 1e6
    random = lexical_pool(torch.randn(4, 6, 50), torch.ones(4, 6, dtype=torch.bool))
    assert (random >= 0).all()
    negative = lexical_pool(torch.randn(4, 6, 50) - 10, torch.ones(4, 6, dtype=torch.bool))
    assert (negative == 0).all()                                    # sparse: ReLU zeroes negative terms


def test_keep_top_k_keeps_the_heaviest_terms_and_only_they_learn():
    p = torch.tensor([[0.1, 3.0, 0.0, 2.0, 0.5], [1.0, 0.0, 0.25, 0.375, 0.75]], requires_grad=True)
    kept = keep_top_k(p, 2)
    assert kept.tolist() == [[0.0, 3.0, 0.0, 2.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.75]]
    kept.sum().backward()
    assert p.grad.tolist() == [[0.0, 1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 1.0]]
    assert keep_top_k(p, 0) is p and keep_top_k(p, 5) is p                  # 0 or >= V: unchanged
    with pytest.raises(Exception, match="lex_top_k"):
        ModelConfig(lex_top_k=-1)


def test_window_pool_splits_each_motions_real_patches():
    torch.manual_seed(0)
    tokens = torch.randn(2, 6, 2, 3)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    pooled, wmask = window_pool(tokens, mask, 2)
    pooled = pooled.reshape(2, 2, 2, 3)
    assert torch.equal(pooled[0, 0], tokens[0, :3].amax(0)) and torch.equal(pooled[0, 1], tokens[0, 3:].amax(0))
    assert torch.equal(pooled[1, 0], tokens[1, :2].amax(0)) and torch.equal(pooled[1, 1], tokens[1, 2])
    assert wmask.all()
    pooled, wmask = window_pool(tokens, mask, 4)                    # 3 real patches cannot fill 4 windows
    assert wmask.reshape(2, 4, 2)[1].tolist() == [[True, True]] * 3 + [[False, False]]
    assert torch.isfinite(pooled).all()


def test_motion_lexical_equals_brute_force_max_over_windows():
    torch.manual_seed(1)
    emb = nn.Embedding(40, 8)
    head = MLMHead(emb, hidden=8)
    tokens, mask = torch.randn(2, 5, 3, 8), torch.tensor([[True] * 5, [True, True, False, False, False]])
    p = motion_lexical(tokens, mask, head, windows=2)
    pooled, wmask = window_pool(tokens, mask, 2)
    logits = head(pooled)                                            # (B, W*P, V)
    expected = torch.stack([torch.log1p(torch.relu(logits[b][wmask[b]].amax(0))) for b in range(2)])
    assert torch.allclose(p, expected, atol=1e-6)


def test_restricted_lexicon_logits_and_to_full():
    torch.manual_seed(2)
    emb = nn.Embedding(30, 8)
    head = MLMHead(emb, hidden=8)
    nn.init.normal_(head.bias)
    lexicon = Lexicon(torch.tensor([25, 3, 7, 3]), 30)              # duplicates and order do not matter
    assert lexicon.term_ids.tolist() == [3, 7, 25] and not lexicon.is_full
    h = torch.randn(2, 4, 8)
    assert torch.allclose(head(h, lexicon.head_ids()), head(h)[..., [3, 7, 25]], atol=1e-6)
    p = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.5, 0.0]])
    full = lexicon.to_full(p)
    assert full.shape == (2, 30) and full[0, [3, 7, 25]].tolist() == [1.0, 2.0, 3.0]
    assert full.sum().item() == pytest.approx(6.5) and torch.equal(lexicon.from_full(full), p)
    labels = torch.tensor([[7, -100, 25, 4]])                         # 4 is outside the lexicon
    assert lexicon.positions_of(labels).tolist() == [[1, -100, 2, -100]]
    full_lex = Lexicon.full(30)
    assert full_lex.is_full and full_lex.head_ids() is None and full_lex.to_full(full) is full


def test_lexicon_from_texts_keeps_terms_and_their_neighbours():
    from engine.models.text_encoder import load_text_backbone
    model, tokenizer = load_text_backbone()
    emb = model.embeddings.word_embeddings.weight
    texts = ["a person walks forward", "someone jumps high"]
    lexicon = Lexicon.from_texts(texts, tokenizer, emb, neighbours=8)
    ids = set(lexicon.term_ids.tolist())
    words = {i for t in texts for i in tokenizer(t, add_special_tokens=False)["input_ids"]}
    assert words <= ids and set(tokenizer.all_special_ids) <= ids
    walks = tokenizer.convert_tokens_to_ids("walks")
    unit = torch.nn.functional.normalize(emb.detach(), dim=-1)
    nearest = (unit[walks] @ unit.T).topk(9).indices.tolist()
    assert set(nearest) <= ids
    assert len(ids) <= len(words) * 9 + len(tokenizer.all_special_ids)


def test_bottleneck_decoder_stop_gradient_and_cbow():
    torch.manual_seed(3)
    cfg = ModelConfig.tiny(max_text_len=8, decoder_heads=4, dropout=0.0)
    emb = nn.Embedding(50, 16)
    decoder = BottleneckDecoder(cfg, hidden=16, vocab_size=50)
    p = torch.rand(2, 50, requires_grad=True)
    ids = torch.tensor([[1, 4, 4, 2], [1, 4, 2, 0]])
    mask = ids != 0
    logits = decoder(p, ids, mask, emb)
    assert logits.shape == (2, 4, 50)
    nn.functional.cross_entropy(logits.reshape(-1, 50), torch.tensor([1, 5, 6, 2, 1, 7, 2, 0])).backward()
    assert emb.weight.grad is None                  # sg(W_te): no gradient reaches the word embeddings
    assert p.grad is not None and p.grad.abs().sum() > 0   # but the lexical vector is trained through E_cbow
    onehot = torch.zeros(1, 50)
    onehot[0, 9] = 2.0
    assert torch.allclose(decoder.cbow(onehot, emb), emb.weight[9:10], atol=1e-5)  # mass-normalised
    control = MLMHead(emb, hidden=16)
    control(torch.randn(2, 16)).sum().backward()
    assert emb.weight.grad is not None               # the shared (non-decoder) head is tied for real


def test_bottleneck_decoder_restricted_lexicon():
    torch.manual_seed(4)
    cfg = ModelConfig.tiny(max_text_len=8, decoder_heads=4, dropout=0.0)
    emb = nn.Embedding(50, 16)
    decoder = BottleneckDecoder(cfg, hidden=16, vocab_size=50).eval()
    lexicon = Lexicon(torch.arange(0, 50, 3), 50)
    p_lex = torch.rand(2, len(lexicon))
    ids, mask = torch.tensor([[1, 3, 3, 2]] * 2), torch.ones(2, 4, dtype=torch.bool)
    restricted = decoder(p_lex, ids, mask, emb, lexicon.head_ids())
    full = decoder(lexicon.to_full(p_lex), ids, mask, emb)
    assert torch.allclose(restricted, full[..., lexicon.term_ids], atol=1e-5)
    # logits of chosen positions only (captioning's first pass projects just the word positions)
    e = decoder.cbow(p_lex, emb, lexicon.head_ids())
    where = torch.tensor([[False, True, True, False], [True, False, False, True]])
    some = decoder.decode(e, ids, mask, emb, lexicon.head_ids(), positions=where)
    assert some.shape == (4, len(lexicon)) and torch.allclose(some, restricted[where], atol=1e-6)
