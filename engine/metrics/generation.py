"""Text-to-motion generation metrics of Guo et al. 2022 (T2M / HumanML3D): R-precision, MM-Dist, FID,
Diversity, MultiModality, and the mean +- 95% interval reported over repetitions.

All of them live in the embedding space of an evaluator (Guo et al.'s text and motion encoders, or any
other): the caller passes text embeddings (N, D) and motion embeddings (N, D), row i of one paired with
row i of the other. Distances are Euclidean, as in Guo et al.'s `utils/metrics.py`. Every random choice
goes through a `numpy.random.Generator` given by the caller (default: `default_rng(0)`), so a seed fixes
the result; Guo et al. draw with the global `np.random` instead, hence their numbers are not reproducible
draw for draw, only in distribution.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

GUO_BATCH = 32            # R-precision batch: 1 true motion among 32
GUO_DIVERSITY_PAIRS = 300
GUO_MM_PAIRS = 10         # out of 30 samples per prompt


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return np.random.default_rng(0) if rng is None else rng


def _pairs(text_emb, motion_emb) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(text_emb, dtype=np.float64)
    m = np.asarray(motion_emb, dtype=np.float64)
    if t.ndim != 2 or t.shape != m.shape:
        raise ValueError(f"text {t.shape} and motion {m.shape} embeddings must be equal (N, D) shapes")
    if not (np.isfinite(t).all() and np.isfinite(m).all()):
        raise ValueError("embeddings contain NaN or inf")
    return t, m


def euclidean_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) matrix of ||a_i - b_j||, computed directly (no |a|^2 + |b|^2 - 2ab cancellation)."""
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def r_precision(text_emb, motion_emb, batch_size: int = GUO_BATCH, top_k: int = 3,
                rng: np.random.Generator | None = None) -> dict[str, float]:
    """Top-1..top_k retrieval accuracy of the true motion among `batch_size` motions (Guo et al. 2022).

    The pairs are shuffled, cut into batches of `batch_size` and, as in Guo et al.'s evaluation loader
    (`drop_last=True`), an incomplete last batch is dropped, so fewer than `batch_size` pairs raise. In
    each batch every text ranks the batch's motions by Euclidean distance (a stable sort: on a tie the
    motion listed first wins; Guo et al.'s default `np.argsort` leaves that order unspecified). "topk" is
    the share of texts whose own motion is among the k nearest, pooled over batches (all batches have
    the same size, so this is also the mean over batches).
    """
    t, m = _pairs(text_emb, motion_emb)
    n_batches = len(t) // batch_size
    if n_batches == 0:
        raise ValueError(f"{len(t)} pairs is fewer than one batch of {batch_size}")
    order = _rng(rng).permutation(len(t))[:n_batches * batch_size].reshape(n_batches, batch_size)
    hits = np.zeros(top_k)
    for idx in order:
        nearest = np.argsort(euclidean_distances(t[idx], m[idx]), axis=1, kind="stable")[:, :top_k]
        found = nearest == np.arange(batch_size)[:, None]         # (batch, top_k): own motion at rank r
        hits += np.cumsum(found, axis=1).sum(axis=0)              # within top k when found at any r < k
    return {f"top{k + 1}": float(hits[k] / (n_batches * batch_size)) for k in range(top_k)}


def mm_dist(text_emb, motion_emb) -> float:
    """Multimodal distance ("MM Dist", Guo et al.'s matching score): mean ||text_i - motion_i||."""
    t, m = _pairs(text_emb, motion_emb)
    return float(np.linalg.norm(t - m, axis=1).mean())


def gaussian_stats(emb) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, N - 1) covariance of (N, D) embeddings, as Guo et al.'s
    `calculate_activation_statistics` (np.cov)."""
    x = np.asarray(emb, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need (N >= 2, D) embeddings, got {x.shape}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)): the Frechet (2-Wasserstein) distance between
    two Gaussians (Dowson & Landau 1982; FID of Heusel et al. 2017).

    As the reference FID code (TTUR / pytorch-fid, reused by Guo et al.): when sqrtm(S1 S2) is not
    finite (near-singular product) it is retried on (S1 + eps I)(S2 + eps I); a complex result from
    round-off is reduced to its real part, unless its diagonal has an imaginary part above 1e-3,
    which raises. scipy's "matrix is singular" warning is silenced as `disp=False` did there.
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1),) * 2:
        raise ValueError("means (D,) and covariances (D, D) of both sets must have matching shapes")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(mu1)) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))} in sqrtm(S1 S2)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(real_emb, generated_emb, eps: float = 1e-6) -> float:
    """FID between the Gaussians fitted to real and generated motion embeddings (Guo et al. 2022)."""
    return frechet_distance(*gaussian_stats(real_emb), *gaussian_stats(generated_emb), eps=eps)


def diversity(emb, pairs: int = GUO_DIVERSITY_PAIRS, rng: np.random.Generator | None = None) -> float:
    """Mean ||x_a - x_b|| over `pairs` pairs: two index sets of `pairs` drawn independently, each without
    replacement (Guo et al.'s `calculate_diversity`, 300 pairs). A pair may repeat one sample and count 0,
    as in theirs. With fewer than `pairs` samples, as many pairs as there are samples are used (Guo et
    al. assert instead), so small sets are noisier than the published protocol.
    """
    x = np.asarray(emb, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need (N >= 2, D) embeddings, got {x.shape}")
    k = min(pairs, len(x))
    rng = _rng(rng)
    first, second = rng.choice(len(x), size=k, replace=False), rng.choice(len(x), size=k, replace=False)
    return float(np.linalg.norm(x[first] - x[second], axis=1).mean())


def multimodality(emb_groups, pairs: int = GUO_MM_PAIRS, rng: np.random.Generator | None = None) -> float:
    """Mean distance between samples generated for the same prompt (Guo et al.'s `calculate_multimodality`).

    `emb_groups` is (n_prompts, n_samples, D). As in Guo et al. two index sets of `pairs` samples are
    drawn without replacement (shared by all prompts) and sample first[i] is compared with second[i] of the
    same prompt; Guo et al. use 10 pairs out of 30 samples per prompt. With fewer samples than `pairs`,
    as many pairs as there are samples are used.
    """
    x = np.asarray(emb_groups, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] < 2:
        raise ValueError(f"need (n_prompts, n_samples >= 2, D) embeddings, got {x.shape}")
    n = x.shape[1]
    k = min(pairs, n)
    rng = _rng(rng)
    first, second = rng.choice(n, size=k, replace=False), rng.choice(n, size=k, replace=False)
    return float(np.linalg.norm(x[:, first] - x[:, second], axis=2).mean())


def mean_and_interval(values) -> tuple[float, float]:
    """(mean, 95% half-width 1.96 * std / sqrt(n)) of a metric over n >= 2 repeated evaluations.

    std is the population one (ddof = 0), as Guo et al.'s `get_metric_statistics` (np.std), which the
    field copies when it reports "mean +- interval" over 20 repetitions.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if len(v) < 2:
        raise ValueError("a confidence interval needs at least 2 values")
    return float(v.mean()), float(1.96 * v.std() / np.sqrt(len(v)))
