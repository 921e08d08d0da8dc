"""The caption head: a closed-form, low-rank ridge map from motion vectors to caption vectors."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from engine.models.caption_head import CaptionHead, fit_low_rank_ridge


def _sparse_inputs(n: int, dims: int, used: int, per_row: int, seed: int = 0) -> sp.csr_matrix:
    """n rows over `dims` columns of which only the first `used` ever hold weight, per_row each."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, dims))
    for row in x:
        row[rng.choice(used, per_row, replace=False)] = rng.uniform(0.2, 1.0, per_row)
    return sp.csr_matrix(x)


def test_recovers_a_known_low_rank_map_and_leaves_unused_terms_at_zero():
    x = _sparse_inputs(n=400, dims=40, used=30, per_row=6)
    rng = np.random.default_rng(1)
    true = np.zeros((40, 40))
    true[:30, 5:35] = rng.normal(size=(30, 3)) @ rng.normal(size=(3, 30))   # rank 3, targets in columns 5..34
    unit = x.toarray() / np.linalg.norm(x.toarray(), axis=1, keepdims=True)
    down, up = fit_low_rank_ridge(x, sp.csr_matrix(unit @ true), rank=3, ridge=1e-6)
    fitted = (down @ up).numpy()
    assert down.shape == (40, 3) and up.shape == (3, 40)
    assert np.abs(fitted - true).max() < 1e-3 * np.abs(true).max()
    unused = np.concatenate([fitted[30:].ravel(), fitted[:, :5].ravel(), fitted[:, 35:].ravel()])
    assert np.abs(unused).max() < 1e-9 * np.abs(true).max()         # terms no motion or caption uses


def test_at_most_max_clips_evenly_spaced_clips_take_part():
    x = _sparse_inputs(n=50, dims=12, used=12, per_row=3, seed=6)
    t = sp.csr_matrix(np.random.default_rng(7).uniform(size=(50, 12)))
    capped = fit_low_rank_ridge(x, t, 4, 0.3, max_clips=10)
    chosen = np.linspace(0, 49, 10).round().astype(int)
    subset = fit_low_rank_ridge(x[chosen], t[chosen], 4, 0.3)
    assert torch.allclose(capped[0] @ capped[1], subset[0] @ subset[1], atol=1e-6)
    assert not torch.allclose(capped[0] @ capped[1], (lambda d, u: d @ u)(*fit_low_rank_ridge(x, t, 4, 0.3)), atol=1e-3)


def test_rank_truncation_keeps_the_best_low_rank_part():
    x = _sparse_inputs(n=300, dims=25, used=25, per_row=5, seed=2)
    t = sp.csr_matrix(np.random.default_rng(3).uniform(size=(300, 25)))
    down, up = fit_low_rank_ridge(x, t, rank=25, ridge=0.3)
    full = (down @ up).double()
    u, s, vh = torch.linalg.svd(full)
    best2 = (u[:, :2] * s[:2]) @ vh[:2]
    d2, u2 = fit_low_rank_ridge(x, t, rank=2, ridge=0.3)
    assert torch.allclose((d2 @ u2).double(), best2, atol=1e-4 * float(full.abs().max()))


def test_ridge_shrinks_the_map():
    x = _sparse_inputs(n=200, dims=20, used=20, per_row=4, seed=4)
    t = sp.csr_matrix(np.random.default_rng(5).uniform(size=(200, 20)))
    norms = [float((d @ u).norm()) for d, u in (fit_low_rank_ridge(x, t, 20, lam) for lam in (0.01, 1.0, 100.0))]
    assert norms[0] > norms[1] > norms[2]


def test_bad_fits_are_refused():
    x = _sparse_inputs(n=10, dims=8, used=8, per_row=2)
    with pytest.raises(ValueError, match="one shape"):
        fit_low_rank_ridge(x, x[:, :4], 2, 0.3)
    with pytest.raises(ValueError, match="ridge > 0"):
        fit_low_rank_ridge(x, x, 2, 0.0)
    with pytest.raises(ValueError, match="all zero"):
        fit_low_rank_ridge(x, sp.csr_matrix(x.shape), 2, 0.3)


def test_head_is_absent_until_fitted_then_predicts_top_k_non_negative_terms():
    head = CaptionHead(top_k=3)
    assert not head.fitted and not head.state_dict()          # old checkpoints have no head: nothing missing
    with pytest.raises(RuntimeError, match="not fitted"):
        head(torch.ones(1, 6))
    with pytest.raises(ValueError, match=r"\(L, r\) and \(r, L\)"):
        head.set_map(torch.zeros(6, 2), torch.zeros(2, 5))
    down = torch.eye(6)[:, :2]                                # x -> its first two terms, then
    up = torch.tensor([[1.0, 0, 0, 0, 0, -1], [0, 2, 0, 0, 0, 0]])
    head.set_map(down, up)
    assert set(head.state_dict()) == {"down", "up"}
    p = torch.tensor([[3.0, 4.0, 0, 0, 0, 0], [-3.0, 4.0, 1e-3, 0, 0, 0]])
    out = head(p)
    # row 0: x = (0.6, 0.8, 0...) -> (0.6, 1.6, 0, 0, 0, -0.6) -> negatives cut
    assert torch.allclose(out[0], torch.tensor([0.6, 1.6, 0, 0, 0, 0]))
    assert (out >= 0).all() and ((out > 0).sum(1) <= 3).all()
