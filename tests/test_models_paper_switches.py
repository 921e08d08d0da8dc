"""The two model switches the paper preset turns off: Eq. 4 without the mass and the head on every token."""
import torch

from engine.models.bottleneck_decoder import BottleneckDecoder
from engine.models.config import ModelConfig
from engine.models.lexical import TOKEN_CHUNK, lexical_pool, motion_lexical


def test_cbow_is_eq4_plain_or_divided_by_the_mass():
    p = torch.tensor([[2.0, 0.0, 1.0]])
    w = torch.tensor([[1.0, 0.0], [5.0, 5.0], [0.0, 3.0]])
    plain = BottleneckDecoder(ModelConfig(cbow_normalise=False, decoder_heads=1), hidden=2, vocab_size=3)
    ours = BottleneckDecoder(ModelConfig(decoder_heads=1), hidden=2, vocab_size=3)
    torch.testing.assert_close(plain.cbow(p, w), torch.tensor([[2.0, 3.0]]))
    torch.testing.assert_close(ours.cbow(p, w), torch.tensor([[2.0, 3.0]]) / (3.0 + ours.eps))


def test_head_on_every_token_streams_the_exact_max():
    """windows = 0: the head reads every token in chunks; the result equals one call over all tokens, and
    gradients flow (each chunk is recomputed in the backward pass)."""
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 50)
    B, Tp, P = 2, 2 * TOKEN_CHUNK // 3 + 5, 3                  # more tokens than one chunk
    tokens = torch.randn(B, Tp, P, 8, requires_grad=True)
    mask = torch.ones(B, Tp, dtype=torch.bool)
    mask[1, Tp // 2:] = False
    got = motion_lexical(tokens, mask, lambda x, ids: head(x), windows=0)
    flat_mask = mask[:, :, None].expand(B, Tp, P).reshape(B, -1)
    want = lexical_pool(head(tokens.reshape(B, Tp * P, 8)), flat_mask)
    torch.testing.assert_close(got, want)
    got.sum().backward()
    assert tokens.grad is not None and tokens.grad[1, Tp // 2:].abs().sum() == 0   # padded tokens get none
    pooled = motion_lexical(tokens, mask, lambda x, ids: head(x), windows=4)
    assert not torch.allclose(pooled, got)                     # window pooling first is a different model
