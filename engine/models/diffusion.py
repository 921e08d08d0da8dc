"""Gaussian diffusion for the generator, model-agnostic: the noise schedule and the DDIM sampler.

Schedule: the cosine schedule of Nichol & Dhariwal (2021), abar(t) = f(t) / f(0) with
f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), betas clipped at 0.999; index t = 0..T-1 is the t-th
noising step, so abar[0] is just below 1 and abar[T-1] is about 0. Forward process (q_sample):
x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps.

Parameterisation: as MDM (Tevet et al. 2023), the denoiser predicts x0 itself. DDIM (Song et al. 2021)
is written in x0 form: eps_hat = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t), then
x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z, with
sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev); the last step goes to
abar_prev = 1, where x_prev is x0_hat exactly.

Classifier-free guidance (Ho & Salimans 2022): x0 = x0_uncond + g (x0_cond - x0_uncond), both passes
in one batch of 2B rows (the first B conditioned, the last B with drop = True). With `guidance_below` it is
applied in a limited interval (Kynkäänniemi et al. 2024): steps t >= guidance_below use the conditional
prediction alone, which also saves the null pass there.

The denoiser protocol: denoise_fn(x_t, t, cond, drop, frame_mask) -> x0_hat, where cond is a tensor
or a dict/tuple/list of tensors with the batch first, drop a (B,) bool (True = use the null condition)
and frame_mask (B, T) bool or None. Nothing here enters torch.no_grad: callers choose (serving does).
"""
from __future__ import annotations

import math

import torch


class CosineSchedule:
    """alphas_cumprod (T,) of the cosine schedule, kept in float64 and cast to the data's device/dtype."""

    def __init__(self, steps: int = 1000, s: float = 0.008, max_beta: float = 0.999):
        if steps < 1:
            raise ValueError(f"a schedule needs at least one step, not {steps}")
        self.steps = steps
        f = lambda u: math.cos((u / steps + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
        betas = torch.tensor([min(1 - f(i + 1) / f(i), max_beta) for i in range(steps)], dtype=torch.float64)
        self.betas = betas
        self.alphas_cumprod = torch.cumprod(1 - betas, dim=0)

    def abar(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """abar_t for a (B,) step tensor, shaped (B, 1, ...) to broadcast against `like`; t = -1 means 1."""
        table = torch.cat([self.alphas_cumprod.new_ones(1), self.alphas_cumprod]).to(like.device)
        a = table[(t.to(like.device).long() + 1)].to(like.dtype)
        return a.reshape(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise."""
        a = self.abar(t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
             schedule: CosineSchedule | None = None) -> torch.Tensor:
    """The forward process under `schedule` (default: cosine, T = 1000)."""
    return (schedule or _default_schedule()).q_sample(x0, t, noise)


_DEFAULT: dict[int, CosineSchedule] = {}


def _default_schedule(steps: int = 1000) -> CosineSchedule:
    if steps not in _DEFAULT:
        _DEFAULT[steps] = CosineSchedule(steps)
    return _DEFAULT[steps]


def ddim_timesteps(steps: int, train_steps: int = 1000) -> list[int]:
    """`steps` evenly spaced training steps from T-1 down to 0 (1 step: just T-1, then straight to x0)."""
    if not 1 <= steps <= train_steps:
        raise ValueError(f"DDIM steps must be in 1..{train_steps}, not {steps}")
    if steps == 1:
        return [train_steps - 1]
    return torch.linspace(train_steps - 1, 0, steps, dtype=torch.float64).round().long().tolist()


def ddim_step(x_t: torch.Tensor, x0_hat: torch.Tensor, t: torch.Tensor, t_prev: torch.Tensor,
              schedule: CosineSchedule, eta: float = 0.0, noise: torch.Tensor | None = None) -> torch.Tensor:
    """One DDIM update x_t -> x_{t_prev} from the x0 prediction (t_prev = -1: the clean sample)."""
    a, a_prev = schedule.abar(t, x_t), schedule.abar(t_prev, x_t)
    eps_hat = (x_t - a.sqrt() * x0_hat) / (1 - a).sqrt()
    sigma = eta * ((1 - a_prev) / (1 - a)).sqrt() * (1 - a / a_prev).sqrt()
    x_prev = a_prev.sqrt() * x0_hat + (1 - a_prev - sigma ** 2).clamp_min(0).sqrt() * eps_hat
    if eta > 0:
        if noise is None:
            raise ValueError("ddim_step with eta > 0 needs the noise z (draw it from the sampler's generator)")
        x_prev = x_prev + sigma * noise
    return x_prev


def _map(cond, fn):
    if isinstance(cond, torch.Tensor):
        return fn(cond)
    if isinstance(cond, dict):
        return {k: _map(v, fn) for k, v in cond.items()}
    if isinstance(cond, (tuple, list)):
        return type(cond)(_map(v, fn) for v in cond)
    return cond  # None or a plain value: passed through unchanged


def _first_tensor(*trees) -> torch.Tensor | None:
    found = []
    for tree in trees:
        _map(tree, lambda x: found.append(x) or x)
    return found[0] if found else None


def guided_x0(denoise_fn, x_t: torch.Tensor, t: torch.Tensor, cond, guidance: float,
              mask: torch.Tensor | None = None) -> torch.Tensor:
    """x0 = x0_uncond + g (x0_cond - x0_uncond), one forward pass over [conditioned; null-conditioned]."""
    B = x_t.shape[0]
    if guidance == 1.0:  # the null pass would cancel out exactly
        return denoise_fn(x_t, t, cond, torch.zeros(B, dtype=torch.bool, device=x_t.device), mask)
    twice = lambda v: torch.cat([v, v], dim=0)  # noqa: E731
    drop = torch.cat([torch.zeros(B, dtype=torch.bool, device=x_t.device),
                      torch.ones(B, dtype=torch.bool, device=x_t.device)])
    out = denoise_fn(twice(x_t), twice(t), _map(cond, twice), drop, None if mask is None else twice(mask))
    x0_cond, x0_uncond = out[:B], out[B:]
    return x0_uncond + guidance * (x0_cond - x0_uncond)


def ddim_sample(denoise_fn, shape, cond, steps: int = 50, guidance: float = 2.5,
                generator: torch.Generator | None = None, mask: torch.Tensor | None = None, eta: float = 0.0,
                schedule: CosineSchedule | None = None, guidance_below: int | None = None) -> torch.Tensor:
    """Sample x0 of `shape` (B, T, F) by DDIM over `steps` evenly spaced steps with guidance `guidance`
    (at the steps t < guidance_below only, when given).

    Every random draw (the start noise, and z when eta > 0) comes from `generator`, on the generator's
    device, then moves to the data's device (taken from cond or mask): one seed, one result. Padded frames
    (mask False) are zero in the result; the denoiser is expected to keep them out of attention.
    """
    schedule = schedule or _default_schedule()
    like = _first_tensor(cond, mask)
    device = like.device if like is not None else (generator.device if generator is not None else None)
    draw_on = generator.device if generator is not None else device

    def randn():
        return torch.randn(tuple(shape), generator=generator, device=draw_on).to(device)

    x = randn()
    B = x.shape[0]
    times = ddim_timesteps(steps, schedule.steps)
    for i, step in enumerate(times):
        t = torch.full((B,), step, dtype=torch.long, device=device)
        t_prev = torch.full((B,), times[i + 1] if i + 1 < len(times) else -1, dtype=torch.long, device=device)
        scale = guidance if guidance_below is None or step < guidance_below else 1.0
        x0_hat = guided_x0(denoise_fn, x, t, cond, scale, mask)
        z = randn() if eta > 0 else None
        x = ddim_step(x, x0_hat, t, t_prev, schedule, eta, z)
    return x if mask is None else x * mask[..., None].to(x.dtype)
