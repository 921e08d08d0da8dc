"""Root-frame geometric terms (features_torch.root_frame_steps, train.generator.geometry = "root") and guidance
in a limited interval (diffusion.ddim_sample's guidance_below)."""
import numpy as np
import pytest
import torch

from engine.config import preset
from engine.config_overrides import apply_overrides
from engine.errors import SpecError
from engine.models.diffusion import ddim_sample
from engine.models.features_torch import FeatureDecoder, features_to_joints, root_frame_steps, rotate_y
from engine.models.generator import generator_loss
from engine.motion_io.features263 import joints_to_features


@pytest.fixture(scope="module")
def turning_walk():
    """Denormalised features (1, T, 263) of a procedural clip that walks and turns."""
    from engine.data import open_dataset
    ds = open_dataset("synthetic?n=40&seed=0")
    for clip in ds.clips:
        f = joints_to_features(ds.motion(clip.id).joints)
        if abs(f[1:, 0].sum()) > 0.3 and np.linalg.norm(f[:, 1:3], axis=-1).mean() > 0.01:
            return torch.tensor(f, dtype=torch.float64)[None]
    pytest.skip("no turning, moving clip in the small library")


def test_root_frame_steps_are_the_world_steps_turned_by_the_heading(turning_walk):
    f = turning_walk
    world = features_to_joints(f)
    world_steps = world[:, 1:] - world[:, :-1]
    local = root_frame_steps(f)
    heading = torch.cat([torch.zeros(1, 1, dtype=f.dtype), torch.cumsum(f[:, :-1, 0], dim=1)], dim=1)[:, :-1]
    assert local.shape == world_steps.shape == (1, f.shape[1] - 1, 22, 3)
    assert torch.allclose(rotate_y(local, -2.0 * heading[..., None]), world_steps, atol=1e-9)
    assert torch.allclose(local.norm(dim=-1), world_steps.norm(dim=-1), atol=1e-9)
    assert not torch.allclose(local, world_steps, atol=1e-3)   # the clip turns: the frames differ


def test_a_heading_error_costs_every_later_frame_in_the_world_but_one_step_in_the_root_frame(turning_walk):
    f = turning_walk.float()
    mean, std = torch.zeros(263), torch.ones(263)
    decoder = FeatureDecoder(mean.numpy(), std.numpy())
    wrong = f.clone()
    wrong[:, 0, 0] += 0.2                  # the first step turns 0.4 rad too far; nothing else differs
    mask = torch.ones(f.shape[:2], dtype=torch.bool)

    def per_step_error(to_steps):
        steps_hat, steps = (to_steps(wrong), to_steps(f)) if to_steps else (None, None)
        if to_steps is None:
            j_hat, j = decoder(wrong), decoder(f)
            steps_hat, steps = j_hat[:, 1:] - j_hat[:, :-1], j[:, 1:] - j[:, :-1]
        return (steps_hat - steps).square().sum((-1, -2))[0]
    world, root = per_step_error(None), per_step_error(decoder.steps)
    assert (world[1:] > 1e-6).sum() > 0.5 * len(world)   # world: the later steps point the wrong way
    assert root[0] > 1e-6 and torch.all(root[1:] < 1e-10)  # root frame: only the step that turned wrong
    w_world = generator_loss(wrong, f, mask, decoder, w_vel=1.0)[1]["vel"]
    w_root = generator_loss(wrong, f, mask, decoder, w_vel=1.0, to_steps=decoder.steps)[1]["vel"]
    assert w_root < 0.1 * w_world


def test_the_foot_term_is_the_same_in_either_frame(turning_walk):
    f = turning_walk.float()
    decoder = FeatureDecoder(np.zeros(263), np.ones(263))
    noisy = f + 0.01 * torch.randn(f.shape, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(f.shape[:2], dtype=torch.bool)
    world = generator_loss(noisy, f, mask, decoder, w_foot=1.0)[1]["foot"]
    root = generator_loss(noisy, f, mask, decoder, w_foot=1.0, to_steps=decoder.steps)[1]["foot"]
    assert world > 0 and root == pytest.approx(world, rel=1e-4)


def test_geometry_and_guidance_interval_are_checked_config_values():
    assert preset("tiny").train.generator.geometry == "root"
    assert preset("paper").train.generator.geometry == "world"   # MDM's, where the terms are off anyway
    cfg = apply_overrides(preset("tiny"), ["train.generator.geometry=world", "train.generator.guidance_below=700"])
    assert (cfg.train.generator.geometry, cfg.train.generator.guidance_below) == ("world", 700)
    with pytest.raises(SpecError, match="geometry"):
        apply_overrides(preset("tiny"), ["train.generator.geometry=global"])
    with pytest.raises(SpecError, match="guidance_below"):
        apply_overrides(preset("tiny"), ["train.generator.guidance_below=0"])


def _toy(x, t, cond, drop, mask):
    """A denoiser whose conditional and null predictions differ and depend on x and t."""
    shift = torch.where(drop[:, None, None], torch.zeros_like(x[:, :1, :1]), cond[:, None, :1])
    return 0.5 * x + shift + t[:, None, None].float() / 1000.0


def test_guidance_below_guides_only_the_low_noise_steps_and_skips_the_null_pass_above():
    cond = torch.randn(2, 4)
    shape = (2, 5, 3)
    run = lambda **kw: ddim_sample(_toy, shape, cond, steps=10, generator=torch.Generator().manual_seed(1), **kw)  # noqa: E731
    full = run(guidance=3.0)
    assert torch.equal(run(guidance=3.0, guidance_below=1000), full)
    none = run(guidance=1.0)
    interval = run(guidance=3.0, guidance_below=500)
    assert not torch.allclose(interval, full) and not torch.allclose(interval, none)
    batches = []

    def counting(x, t, c, drop, mask):
        batches.append((int(t[0]), x.shape[0]))
        return _toy(x, t, c, drop, mask)
    ddim_sample(counting, shape, cond, steps=10, guidance=3.0, guidance_below=500,
                generator=torch.Generator().manual_seed(1))
    assert all(rows == (4 if t < 500 else 2) for t, rows in batches)
    assert {rows for _, rows in batches} == {2, 4}
