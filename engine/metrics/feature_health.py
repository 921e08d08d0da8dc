"""Dimension-collapse diagnostics from the LoDE supplement: LER (local effective rank) and MOM.

Features follow the supplement's layout Z in R^{N x T x V x C} (samples, motion units in time, joints,
channels); the matrix of joint j in sample i is A_ij = Z[i, :, j, :] (T x C). `per_joint_matrices`
turns Z into the stack of those (N*V, T, C) matrices; the measures below take any stack (..., T, C).
"""
from __future__ import annotations

import numpy as np


def per_joint_matrices(z: np.ndarray) -> np.ndarray:
    """(N, T, V, C) -> (N * V, T, C): one T x C matrix per sample and joint (supplement sec. 1.2)."""
    z = np.asarray(z)
    if z.ndim != 4:
        raise ValueError(f"expected (N, T, V, C) features, got shape {z.shape}")
    n, t, v, c = z.shape
    return z.transpose(0, 2, 1, 3).reshape(n * v, t, c)


def _entropy_rank(sigma: np.ndarray) -> np.ndarray:
    """exp(H(p)) with p = sigma / ||sigma||_1 along the last axis, 0 log 0 = 0 (supplement eqs. 2-5)."""
    p = sigma / sigma.sum(axis=-1, keepdims=True)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.exp(-plogp.sum(axis=-1))


def effective_rank(matrix: np.ndarray) -> float:
    """erank(A) = exp(entropy of the l1-normalised singular values) (Roy & Vetterli 2007; eq. 4)."""
    sigma = np.linalg.svd(np.asarray(matrix, dtype=np.float64), compute_uv=False)
    if sigma.sum() <= 0:
        raise ValueError("effective rank of an all-zero matrix is undefined")
    return float(_entropy_rank(sigma))


def local_effective_rank(matrices) -> float:
    """Average erank over a stack (..., T, C) or list of matrices (eq. 6). All-zero matrices are skipped."""
    if isinstance(matrices, (list, tuple)):
        values = [effective_rank(m) for m in matrices if np.any(m)]
        return float(np.mean(values))
    m = np.asarray(matrices, dtype=np.float64)
    m = m.reshape(-1, *m.shape[-2:])
    sigma = np.linalg.svd(m, compute_uv=False)
    keep = sigma.sum(axis=-1) > 0
    if not keep.any():
        raise ValueError("all matrices are zero")
    return float(_entropy_rank(sigma[keep]).mean())


def _mom_of_batch(points: np.ndarray) -> float:
    """Mean over anchors of MOM_anc = -mu / (mu - omega) (eqs. 7-8): mu, omega = mean, max distance."""
    d = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    k = len(points)
    off_diag = ~np.eye(k, dtype=bool)
    mu = d[off_diag].reshape(k, k - 1).mean(axis=1)
    omega = d.max(axis=1)
    ok = omega > mu  # equidistant neighbours (or duplicates) give 0/0: no estimate from that anchor
    return float(np.mean(-mu[ok] / (mu[ok] - omega[ok]))) if ok.any() else float("nan")


def method_of_moments(matrices) -> float:
    """MOM local intrinsic dimension: each matrix's rows (e.g. the T motion units of one joint) form a
    batch; the batch value is averaged over anchors and the result over batches (supplement sec. 1.3)."""
    stack = list(matrices) if isinstance(matrices, (list, tuple)) else \
        np.asarray(matrices, dtype=np.float64).reshape(-1, *np.shape(matrices)[-2:])
    values = [_mom_of_batch(np.asarray(m, dtype=np.float64)) for m in stack if len(m) >= 3]
    values = [v for v in values if not np.isnan(v)]
    if not values:
        raise ValueError("MOM needs matrices with >= 3 distinct rows")
    return float(np.mean(values))


def inverse_ler_loss(features, eps: float = 1e-8):
    """Differentiable 1 / LER regulariser (LoDE Alg. 1 line 21): mean over matrices of 1 / erank.

    `features` is a torch tensor (..., T, C): one matrix per leading index (use (N*V, T, C) per joint).
    torch.linalg.svdvals has stable gradients even with repeated singular values.
    """
    import torch

    m = features.reshape(-1, *features.shape[-2:]).float()
    sigma = torch.linalg.svdvals(m)
    p = sigma / (sigma.sum(dim=-1, keepdim=True) + eps)
    entropy = -(p * torch.log(p + eps)).sum(dim=-1)
    return torch.exp(-entropy).mean()  # 1 / exp(H) = exp(-H)
