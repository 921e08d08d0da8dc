"""Motion featurisation and the factorised motion encoder: shapes, masks, per-joint features, batching, gradients."""
from pathlib import Path

import numpy as np

import pytest
import torch

from engine.models.config import ModelConfig
from engine.models.motion_encoder import MotionEncoder, patchify
from engine.models.motion_features import featurise
from engine.models.reconstruction_head import ReconstructionHead
from engine.skeleton import BODY_PARTS

torch.set_num_threads(1)


def walking_joints(batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    """A body of plausible size drifting forward with jitter: enough for the features to mean something."""
    g = torch.Generator().manual_seed(seed)
    rest = torch.randn(22, 3, generator=g) * 0.3 + torch.tensor([0.0, 0.9, 0.0])
    t = torch.arange(frames, dtype=torch.float32)[:, None, None] / 20.0
    drift = torch.stack([torch.zeros_like(t), torch.zeros_like(t), t * 1.2], dim=-1).squeeze(-2)
    return rest + drift + torch.randn(batch, frames, 22, 3, generator=g) * 0.01


def test_featurise_root_trajectory_relative_joints_and_scale():
    joints = walking_joints(2, 10)
    mask = torch.ones(2, 10, dtype=torch.bool)
    f = featurise(joints, mask)
    size = f.size[:, None, None]
    assert torch.allclose(f.positions[:, :, 0], joints[:, :, 0] / size, atol=1e-6)
    assert torch.allclose(f.positions[:, :, 5], (joints[:, :, 5] - joints[:, :, 0]) / size, atol=1e-6)
    assert torch.allclose(f.velocities[:, 1:], (f.positions[:, 1:] - f.positions[:, :-1]) * 20, atol=1e-4)
    assert (f.velocities[:, 0] == 0).all()
    g = featurise(joints * 2.0, mask)                    # a body twice as big doing the same thing
    assert torch.allclose(g.size, f.size * 2) and torch.allclose(g.positions, f.positions, atol=1e-5)


def test_featurise_zeroes_padding():
    joints = walking_joints(1, 8)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    f = featurise(joints, mask)
    assert (f.positions[:, 5:] == 0).all() and (f.velocities[:, 5:] == 0).all()


def test_patchify_shapes_and_mask():
    x = torch.arange(2 * 10 * 22 * 6, dtype=torch.float32).reshape(2, 10, 22, 6)
    mask = torch.tensor([[True] * 10, [True] * 5 + [False] * 5])
    p, pm = patchify(x, mask, 4)
    assert p.shape == (2, 3, 22, 24) and pm.tolist() == [[True] * 3, [True, True, False]]
    assert torch.equal(p[0, 1, 3, 6:12], x[0, 5, 3])      # patch 1 frame 1 of joint 3


@pytest.mark.parametrize("joint_tokens,motpp", [("parts", True), ("parts", False), ("joints", False), ("joints", True)])
def test_encoder_shapes_masks_and_per_joint_features(joint_tokens, motpp):
    cfg = ModelConfig.tiny(joint_tokens=joint_tokens, motpp=motpp, motion_depth=2)
    enc = MotionEncoder(cfg).eval()
    joints = walking_joints(3, 30)
    mask = torch.ones(3, 30, dtype=torch.bool)
    mask[1, 10:] = False                                # 10 frames: patches 0, 1, 2 (frames 8, 9) real
    out = enc(joints, mask)
    P = 7 if joint_tokens == "parts" else 22
    assert out.tokens.shape == (3, 8, P, 384) and out.token_mask[1].tolist() == [True] * 3 + [False] * 5
    per_joint = out.per_joint_features()
    assert per_joint.shape == (3, 8, 22, 384)
    for token, group in enumerate(enc.groups):
        for j in group:
            assert torch.equal(per_joint[:, :, j], out.tokens[:, :, token])
    assert torch.equal(enc.per_joint_features(out.tokens), per_joint)
    if joint_tokens == "parts":
        assert enc.groups == tuple(BODY_PARTS.values())


def test_padding_does_not_leak_into_real_tokens():
    enc = MotionEncoder(ModelConfig.tiny(dropout=0.0)).eval()
    joints = walking_joints(1, 18, seed=1)
    alone = enc(joints, torch.ones(1, 18, dtype=torch.bool))
    padded = torch.cat([joints, torch.randn(1, 30, 22, 3) * 5], dim=1)   # garbage after frame 18
    mask = torch.tensor([[True] * 18 + [False] * 30])
    inside = enc(padded, mask)
    real = alone.token_mask[0]
    assert torch.allclose(inside.tokens[0, : real.numel()][real], alone.tokens[0][real], atol=1e-4)


def test_masked_view_and_errors():
    enc = MotionEncoder(ModelConfig.tiny(dropout=0.0)).eval()
    joints, mask = walking_joints(2, 16), torch.ones(2, 16, dtype=torch.bool)
    hide = torch.zeros(2, 4, 7, dtype=torch.bool)
    hide[:, 1] = True
    assert not torch.allclose(enc(joints, mask, hide).tokens, enc(joints, mask).tokens)
    with pytest.raises(ValueError, match="at most 64"):
        enc(walking_joints(1, 65), torch.ones(1, 65, dtype=torch.bool))
    with pytest.raises(ValueError, match="at least one real frame"):
        enc(joints, torch.zeros(2, 16, dtype=torch.bool))


def test_reconstruction_head_writes_each_tokens_own_joints():
    cfg = ModelConfig.tiny()
    head = ReconstructionHead(cfg)
    tokens = torch.zeros(1, 2, 7, 384)
    tokens[:, :, 3] = 1.0                                # only the left-arm token is non-zero
    out = head(tokens)
    assert out.shape == (1, 8, 22, 3)
    bias_only = head(torch.zeros(1, 2, 7, 384))
    changed = (out != bias_only).any(-1).any(1)[0].nonzero().flatten().tolist()
    assert changed == sorted(BODY_PARTS["left_arm"])


def test_full_length_batch_encodes_each_clip_alone_and_trains_every_weight():
    """Clips of the longest length (64 frames = the whole temporal table): a batch encodes each clip as it
    is encoded alone, and one backward pass reaches every weight (the mask token only when tokens are hidden)."""
    torch.manual_seed(0)
    enc = MotionEncoder(ModelConfig.tiny(dropout=0.0))
    joints = torch.cat([walking_joints(1, 64, seed=s) * (1.0 + 0.2 * s) for s in range(3)])   # 3 body sizes
    mask = torch.ones(3, 64, dtype=torch.bool)
    with torch.no_grad():
        batch = enc(joints, mask).tokens
        for i in range(3):
            alone = enc(joints[i:i + 1], mask[i:i + 1]).tokens
            assert torch.allclose(batch[i:i + 1], alone, atol=1e-5), i
    assert batch.shape == (3, 16, 7, 384) and not torch.allclose(batch[0], batch[1], atol=1e-3)
    enc(joints, mask).tokens.square().mean().backward()
    named = dict(enc.named_parameters())
    no_grad = {n for n, p in named.items() if p.grad is None or not (p.grad != 0).any()}
    assert no_grad == {"mask_token"}
    assert all(torch.isfinite(p.grad).all() for n, p in named.items() if n != "mask_token")
    assert (named["temporal_pos"].grad[0] != 0).any(-1).all()    # all 16 patch positions used
    enc.zero_grad(set_to_none=True)
    hide = torch.zeros(3, 16, 7, dtype=torch.bool)
    hide[:, 3, 2] = True
    enc(joints, mask, hide).tokens.square().mean().backward()
    assert (named["mask_token"].grad != 0).any()


def test_real_humanml3d_clip_has_unit_body_size_and_encodes():
    sample = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples" / "humanml3d_new_joints_012314.npy"
    if not sample.is_file():
        pytest.skip(f"real data not found at {sample}")
    joints = torch.from_numpy(np.load(sample, allow_pickle=False)).float()[None, :64]
    mask = torch.ones(1, 64, dtype=torch.bool)
    f = featurise(joints, mask)
    assert 0.8 < f.size.item() < 1.25                     # REFERENCE_SIZE is a typical HumanML3D body
    assert f.velocities.abs().max() < 20                   # m/s over body size: no unit slip
    out = MotionEncoder(ModelConfig.tiny()).eval()(joints, mask)
    assert torch.isfinite(out.tokens).all() and out.tokens.shape == (1, 16, 7, 384)
