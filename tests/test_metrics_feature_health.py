"""LER / MOM on matrices whose answer is known."""
import numpy as np
import pytest
import torch

from engine.metrics import effective_rank, local_effective_rank, method_of_moments, per_joint_matrices, \
    inverse_ler_loss

torch.set_num_threads(1)


def test_rank_one_and_orthogonal():
    rng = np.random.default_rng(0)
    assert effective_rank(np.outer(rng.normal(size=20), rng.normal(size=8))) == pytest.approx(1.0, abs=1e-6)
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    assert effective_rank(q) == pytest.approx(12.0, rel=1e-6)
    assert effective_rank(3.5 * q) == pytest.approx(12.0, rel=1e-6)  # scale invariance (prop. 2)
    # erank lies between 1 and the rank (prop. 1)
    low = rng.normal(size=(30, 3)) @ rng.normal(size=(3, 16))
    assert 1.0 <= effective_rank(low) <= 3.0 + 1e-9


def test_local_effective_rank_averages_per_joint():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    z = np.zeros((2, 8, 3, 8))        # (N, T, V, C)
    z[:, :, 0, :] = q                 # joint 0: erank 8
    z[:, :, 1, :] = np.outer(np.ones(8), rng.normal(size=8))  # joint 1: rank 1
    z[:, :, 2, :] = q[:, :4] @ q[:4, :]                       # joint 2: 4 equal singular values
    mats = per_joint_matrices(z)
    assert mats.shape == (6, 8, 8)
    assert local_effective_rank(mats) == pytest.approx((8 + 1 + 4) / 3, rel=1e-6)
    assert local_effective_rank(list(mats)) == pytest.approx((8 + 1 + 4) / 3, rel=1e-6)


def test_mom_grows_with_intrinsic_dimension():
    rng = np.random.default_rng(2)
    def points(d):  # 64 points on a d-dim subspace of R^32
        return rng.uniform(size=(64, d)) @ np.linalg.qr(rng.normal(size=(32, d)))[0].T
    m2, m8 = method_of_moments([points(2)]), method_of_moments([points(8)])
    assert 0.5 < m2 < m8


def test_inverse_ler_loss_matches_numpy_and_trains():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.normal(size=(4, 10, 6)), dtype=torch.float32)
    expected = np.mean([1 / effective_rank(m) for m in x.numpy()])
    assert inverse_ler_loss(x).item() == pytest.approx(expected, rel=1e-4)
    # gradient descent on 1/LER spreads a nearly collapsed feature matrix
    feats = torch.tensor(np.outer(np.ones(10), rng.normal(size=6)) + 0.01 * rng.normal(size=(10, 6)),
                         dtype=torch.float32, requires_grad=True)
    before = local_effective_rank(feats.detach().numpy()[None])
    opt = torch.optim.Adam([feats], lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        loss = inverse_ler_loss(feats)
        loss.backward()
        assert torch.isfinite(feats.grad).all()
        opt.step()
    assert local_effective_rank(feats.detach().numpy()[None]) > before + 1.0
