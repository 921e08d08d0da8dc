"""The cosine schedule and the DDIM sampler with x0 prediction and classifier-free guidance."""
import pytest
import torch

from engine.models.diffusion import (CosineSchedule, ddim_sample, ddim_step, ddim_timesteps, guided_x0,
                                     q_sample)

torch.set_num_threads(1)
SHAPE = (2, 5, 3)


def test_cosine_schedule_runs_from_one_to_zero():
    abar = CosineSchedule(1000).alphas_cumprod
    assert abar.shape == (1000,)
    assert (abar[1:] < abar[:-1]).all()
    assert abar[0] > 0.9999 and abar[-1] < 1e-4
    # Nichol & Dhariwal's abar(t) = f(t) / f(0) in the middle, where no beta is clipped.
    import math
    f = lambda u: math.cos((u / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert abar[499].item() == pytest.approx(f(500) / f(0), rel=1e-9)


def test_q_sample_keeps_x0_at_t0_and_mixes_by_abar():
    generator = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(SHAPE, generator=generator), torch.randn(SHAPE, generator=generator)
    t0 = torch.zeros(2, dtype=torch.long)
    s = CosineSchedule(1000)
    a0 = s.alphas_cumprod[0].float()                  # > 0.9999: x_0 is x0 up to sqrt(1 - a0) <= 0.01 of noise
    assert ((q_sample(x0, t0, noise) - x0).abs() <= (1 - a0).sqrt() * noise.abs() + (1 - a0.sqrt()) * x0.abs()
            + 1e-6).all()
    t = torch.tensor([300, 999])
    a = s.alphas_cumprod[t].float()[:, None, None]
    assert torch.allclose(s.q_sample(x0, t, noise), a.sqrt() * x0 + (1 - a).sqrt() * noise, atol=1e-6)
    assert torch.allclose(s.q_sample(x0, t, noise)[1], noise[1], atol=0.01)   # t = T-1: almost pure noise


def test_timesteps_are_evenly_spaced_and_distinct():
    assert ddim_timesteps(1) == [999]
    assert ddim_timesteps(5) == [999, 749, 500, 250, 0]
    assert len(set(ddim_timesteps(1000))) == 1000
    with pytest.raises(ValueError):
        ddim_timesteps(0)


def constant(target):
    return lambda x, t, cond, drop, mask: target.repeat(x.shape[0] // target.shape[0], 1, 1)


@pytest.mark.parametrize("steps", [1, 2, 7, 50, 1000])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_with_a_known_x0_lands_on_it(steps, eta):
    target = torch.randn(SHAPE)
    out = ddim_sample(constant(target), SHAPE, torch.zeros(2, 4), steps=steps, guidance=2.5,
                      generator=torch.Generator().manual_seed(0), eta=eta)
    assert torch.allclose(out, target, atol=1e-5)


def test_ddim_step_without_noise_is_deterministic_and_needs_z_with_eta():
    s = CosineSchedule(1000)
    x, x0 = torch.randn(SHAPE), torch.randn(SHAPE)
    t, tp = torch.full((2,), 500), torch.full((2,), 250)
    a, ap = s.alphas_cumprod[500].float(), s.alphas_cumprod[250].float()
    eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
    assert torch.allclose(ddim_step(x, x0, t, tp, s), ap.sqrt() * x0 + (1 - ap).sqrt() * eps, atol=1e-6)
    with pytest.raises(ValueError):
        ddim_step(x, x0, t, tp, s, eta=1.0)


def depends_on_everything(x, t, cond, drop, mask):
    """x0_hat that uses x_t, t and the condition; the null condition gives a different answer."""
    c = torch.where(drop[:, None], torch.full_like(cond, -1.0), cond)
    return 0.3 * x + c[:, None, :3] + t[:, None, None].float() / 1000


@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_ddim_is_deterministic_under_a_seed(eta):
    cond = torch.randn(2, 4)

    def run(seed):
        return ddim_sample(depends_on_everything, SHAPE, cond, steps=10, generator=torch.Generator().manual_seed(seed),
                           eta=eta)
    assert torch.equal(run(0), run(0))
    assert not torch.allclose(run(0), run(1))


def hand_loop(fn_cond, fn_uncond, x, steps, g, s):
    """DDIM written out step by step: x0 = x0_u + g (x0_c - x0_u), eta = 0."""
    times = ddim_timesteps(steps) + [-1]
    for step, prev in zip(times[:-1], times[1:]):
        t, tp = torch.full((2,), step), torch.full((2,), prev)
        xc, xu = fn_cond(x, t), fn_uncond(x, t)
        x = ddim_step(x, xu + g * (xc - xu), t, tp, s)
    return x


@pytest.mark.parametrize("g", [1.0, 2.5, 0.0])
def test_guidance_matches_the_hand_formula(g):
    cond, s = torch.randn(2, 4), CosineSchedule(1000)
    no, yes = torch.zeros(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)
    x_start = torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))
    expected = hand_loop(lambda x, t: depends_on_everything(x, t, cond, no, None),
                         lambda x, t: depends_on_everything(x, t, cond, yes, None), x_start, 6, g, s)
    out = ddim_sample(depends_on_everything, SHAPE, cond, steps=6, guidance=g,
                      generator=torch.Generator().manual_seed(3))
    assert torch.allclose(out, expected, atol=1e-5)
    if g == 1.0:  # guidance 1 is the conditioned model alone
        cond_only = hand_loop(lambda x, t: depends_on_everything(x, t, cond, no, None),
                              lambda x, t: depends_on_everything(x, t, cond, no, None), x_start, 6, 7.0, s)
        assert torch.allclose(out, cond_only, atol=1e-5)


def test_guidance_runs_both_passes_in_one_batch_per_step():
    calls = []
    cond = {"cond_token": torch.randn(2, 4), "cond_mask": torch.ones(2, 3, dtype=torch.bool)}
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])

    def fn(x, t, c, drop, m):
        calls.append((x.shape[0], c["cond_token"].shape[0], c["cond_mask"].shape[0], drop.tolist(), m.shape[0]))
        assert torch.equal(c["cond_token"][:2], c["cond_token"][2:]) and torch.equal(m[:2], m[2:])
        return depends_on_everything(x, t, c["cond_token"], drop, m)
    out = ddim_sample(fn, SHAPE, cond, steps=4, guidance=2.5, mask=mask, generator=torch.Generator().manual_seed(0))
    assert len(calls) == 4
    assert all(c == (4, 4, 4, [False, False, True, True], 4) for c in calls)
    assert (out[1, 3:] == 0).all()   # padded frames come back as zeros


def test_guided_x0_shape_and_no_grad_left_to_the_caller():
    x = torch.randn(SHAPE, requires_grad=True)
    y = guided_x0(depends_on_everything, x, torch.full((2,), 10), torch.randn(2, 4), 2.5)
    assert y.shape == SHAPE and y.requires_grad   # the sampler itself does not switch gradients off
