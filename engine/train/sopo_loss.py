"""SoPo (semi-online preference optimisation, "SoPo: Text-to-Motion Generation Using Semi-Online Preference
Optimization") and Diffusion-DPO for the x0-predicting generator.

Diffusion-DPO (Wallace et al. 2023) turns the log-likelihood ratio log pi_theta / pi_ref of a motion into
the negative of the policy's denoising error relative to the frozen reference's, at one random step t and
noise eps shared by both models (and, within a pair, by both motions):
    L(theta, ref, x_t) = L(theta, x_t) - L(ref, x_t),  L(m, x_t) = ||x0 - x0_m(x_t, t)||^2
(the paper writes ||eps - eps_m||^2; our denoiser predicts x0, so the errors are taken in x0 space, per sample,
as the mean over real frames and the 263 normalised features; see `denoising_error`).

SoPo, Eq. 17 (the equivalent form of Eq. 15-16, Algorithm 1 lines 6-10), per preferred motion x^w from the
dataset and unpreferred x^l = argmin_k r(x^k_pre, c) among K motions sampled from the current policy:
    r(x^l, c) <  tau ("valuable unpreferred"):
        -log sigma(-T w_t (beta_w(x^w) L(theta, ref, x^w_t) - beta L(theta, ref, x^l_t)))
    r(x^l, c) >= tau ("all good"):
        -log sigma(-T w_t beta_w(x^w) L(theta, ref, x^w_t))
with beta_w(x^w) = beta (C - S(x^w)), S(x^w) = min_k cos(x^w, x^k_pre) (section 4.3). The "all good" branch is
the same expression with the unpreferred weight set to 0, so one function computes both, and Diffusion-DPO
(offline or online pairs) is that function with both weights beta. `scale` is T w_t, with w_t = 1 as in
Diffusion-DPO's practice.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.models.diffusion import CosineSchedule
from engine.models.generator import masked_mse

denoising_error = masked_mse  # (B,) ||x0 - x0_hat||^2, mean over real frames and features


def frozen_copy(module: nn.Module) -> nn.Module:
    """The reference model pi_ref: a deep copy in eval mode with every parameter's requires_grad False."""
    ref = copy.deepcopy(module).eval()
    ref.requires_grad_(False)
    return ref


def policy_and_reference_errors(policy_fn, reference_fn, schedule: CosineSchedule, x0: torch.Tensor,
                                t: torch.Tensor, noise: torch.Tensor, frame_mask: torch.Tensor,
                                error_fn=denoising_error):
    """(err_policy, err_ref), each (B,), for x_t = q_sample(x0, t, noise); fn(x_t, t) -> x0_hat; error_fn(x0_hat,
    x0, frame_mask) -> (B,) (train/sopo_error.py: the feature error, or the base's whole training loss).

    The reference runs under no_grad, so it neither builds a graph nor receives gradients."""
    x_t = schedule.q_sample(x0, t, noise)
    err_policy = error_fn(policy_fn(x_t, t), x0, frame_mask)
    with torch.no_grad():
        err_ref = error_fn(reference_fn(x_t, t), x0, frame_mask)
    return err_policy, err_ref


def preference_weight(x_w: torch.Tensor, samples: torch.Tensor, beta: float = 1.0, C: float = 2.0,
                      frame_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Section 4.3 / Algorithm 1 line 5: beta_w = beta (C - S(x^w)), S(x^w) = min_k cos(x^w, x^k).

    x_w (B, T, F) and samples (B, K, T, F) in the generator's space: the normalised HumanML3D features, the
    samples drawn at the preferred motion's length. Each motion is flattened over its real frames (padded
    frames zeroed) and features; cos is of those vectors. A weight, never a gradient path: detached (B,)."""
    if frame_mask is not None:
        m = frame_mask.to(x_w.dtype)[..., None]
        x_w, samples = x_w * m, samples * m[:, None]
    cos = F.cosine_similarity(x_w.flatten(1)[:, None], samples.flatten(2), dim=-1, eps=1e-8)   # (B, K)
    return (beta * (C - cos.amin(1))).detach()


def _dpo_core(err_w_policy, err_w_ref, err_l_policy, err_l_ref, weight_w, weight_l, scale):
    """-log sigma(-scale (weight_w L(theta, ref, x^w_t) - weight_l L(theta, ref, x^l_t))) per sample."""
    delta_w = err_w_policy - err_w_ref.detach()
    delta_l = err_l_policy - err_l_ref.detach()
    inside = -scale * (weight_w * delta_w - weight_l * delta_l)
    return -F.logsigmoid(inside), delta_w, delta_l


def sopo_loss(err_w_policy: torch.Tensor, err_w_ref: torch.Tensor, err_l_policy: torch.Tensor,
              err_l_ref: torch.Tensor, reward_l: torch.Tensor, tau: float = 0.45, beta: float = 1.0,
              beta_w: torch.Tensor | float | None = None, scale: float = 1000.0) -> tuple[torch.Tensor, dict]:
    """Eq. 17 (Algorithm 1 lines 6-10), mean over the batch. All errors (B,); reward_l (B,) is the reward of
    the chosen unpreferred sample; beta_w (B,) from `preference_weight` (None: beta, i.e. no reweighting).
    Rows with reward_l < tau use both motions; the others only the preferred term. Returns (loss, parts)."""
    valuable = reward_l.to(err_w_policy.device) < tau
    weight_w = beta if beta_w is None else beta_w
    weight_l = beta * valuable.to(err_w_policy.dtype)
    per_sample, delta_w, delta_l = _dpo_core(err_w_policy, err_w_ref, err_l_policy, err_l_ref,
                                             weight_w, weight_l, scale)
    share = float(valuable.float().mean())
    return per_sample.mean(), {"valuable_share": share, "all_good_share": 1.0 - share,
                               "delta_w": float(delta_w.detach().mean()), "delta_l": float(delta_l.detach().mean())}


def dpo_loss(err_w_policy: torch.Tensor, err_w_ref: torch.Tensor, err_l_policy: torch.Tensor,
             err_l_ref: torch.Tensor, beta: float = 1.0, scale: float = 1000.0) -> tuple[torch.Tensor, dict]:
    """Diffusion-DPO (Wallace et al. 2023, its final loss; SoPo appendix Eq. S27):
    -log sigma(-beta T w_t (L(theta, ref, x^w_t) - L(theta, ref, x^l_t))), both motions in every row. The offline
    and online DPO baselines use it; they differ from each other (and from SoPo with tau = inf and
    beta_w = beta) only in how pairs are chosen."""
    per_sample, delta_w, delta_l = _dpo_core(err_w_policy, err_w_ref, err_l_policy, err_l_ref, beta, beta, scale)
    return per_sample.mean(), {"delta_w": float(delta_w.detach().mean()),
                               "delta_l": float(delta_l.detach().mean())}


def choose_pair(rewards: torch.Tensor | None, mode: str, offline_pairs=None):
    """Which motions form the (preferred, unpreferred) pair, as indices into the K samples of each row.

    "sopo":    (None, argmin_k r): the preferred is the dataset motion, the unpreferred the policy's worst
               sample (Eq. 10); reward_l for sopo_loss is rewards.gather(1, l[:, None]).
    "online":  (argmax_k r, argmin_k r): both from the current policy's K samples (online DPO).
    "offline": pairs fixed before training (MoDiPO-style: the "online" choice made once on the pretrained
               model's samples, or labelled pairs); the caller passes them as `offline_pairs`, returned as is.
    rewards: (B, K); ties go to the lowest index."""
    if mode == "offline":
        if offline_pairs is None:
            raise ValueError("offline DPO uses pairs fixed before training: pass them as offline_pairs")
        return offline_pairs
    if mode not in ("sopo", "online"):
        raise ValueError(f"pair mode must be 'sopo', 'online' or 'offline', not {mode!r}")
    worst = rewards.argmin(1)
    return (None if mode == "sopo" else rewards.argmax(1)), worst
