"""The MDM-style denoiser: shapes, masking, condition dropout, a real small training, the length head, the loss."""
import pytest
import torch

from engine.errors import SpecError
from engine.models.diffusion import CosineSchedule, ddim_sample
from engine.models.generator import (GeneratorConfig, LengthHead, MotionDenoiser, generator_loss, length_loss,
                                     masked_mse)

torch.set_num_threads(1)
CFG = GeneratorConfig.tiny(features=12, cond_dim=8, width=32, ff=64, max_frames=16, dropout=0.0)
B, T, L = 3, 10, 5


def inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    frame_mask = torch.zeros(B, T, dtype=torch.bool)
    for i, n in enumerate((10, 6, 3)):
        frame_mask[i, :n] = True
    cond_mask = torch.zeros(B, L, dtype=torch.bool)
    for i, n in enumerate((5, 2, 1)):
        cond_mask[i, :n] = True
    return dict(x_t=torch.randn(B, T, CFG.features, generator=g), t=torch.tensor([0, 500, 999]),
                frame_mask=frame_mask, cond_token=torch.randn(B, CFG.cond_dim, generator=g),
                cond_states=torch.randn(B, L, CFG.cond_dim, generator=g), cond_mask=cond_mask)


def model(seed=0, cfg=CFG):
    torch.manual_seed(seed)
    return MotionDenoiser(cfg).eval()


def test_configs():
    assert (GeneratorConfig().width, GeneratorConfig().depth, GeneratorConfig().heads) == (256, 4, 4)
    assert (GeneratorConfig.paper().width, GeneratorConfig.paper().depth) == (512, 8)
    assert GeneratorConfig().max_frames == 196 and GeneratorConfig().features == 263
    with pytest.raises(SpecError):
        GeneratorConfig(width=30, heads=4)


def test_output_shape_and_zero_padding():
    x = inputs()
    out = model()(**x)
    assert out.shape == (B, T, CFG.features)
    assert (out[~x["frame_mask"]] == 0).all() and (out[x["frame_mask"]] != 0).any()
    with pytest.raises(ValueError):
        model()(**{**x, "x_t": torch.zeros(B, CFG.max_frames + 1, CFG.features),
                   "frame_mask": torch.ones(B, CFG.max_frames + 1, dtype=torch.bool)})


def test_padded_frames_and_padded_text_states_do_not_reach_real_frames():
    m, x = model(), inputs()
    ref = m(**x)
    fm, cm = x["frame_mask"], x["cond_mask"]
    noisy_frames = torch.where(fm[..., None], x["x_t"], torch.randn_like(x["x_t"]) * 50)
    noisy_states = torch.where(cm[..., None], x["cond_states"], torch.randn_like(x["cond_states"]) * 50)
    for changed in ({"x_t": noisy_frames}, {"cond_states": noisy_states}):
        out = m(**{**x, **changed})
        assert torch.allclose(out[fm], ref[fm], atol=1e-5)
    # ...while a real frame or a real text state does change them.
    real = x["x_t"].clone()
    real[0, 0] += 1
    assert not torch.allclose(m(**{**x, "x_t": real})[0, 1:], ref[0, 1:], atol=1e-4)
    states = x["cond_states"].clone()
    states[1, 0] += 1
    assert not torch.allclose(m(**{**x, "cond_states": states})[1, :6], ref[1, :6], atol=1e-4)


def test_condition_dropout_uses_the_null_embeddings():
    m, x = model(), inputs()
    drop = torch.tensor([True, False, True])
    dropped = m(**x, drop_mask=drop)
    null = m.null_condition(B)
    unconditional = m(x["x_t"], x["t"], x["frame_mask"], **null)
    fm = x["frame_mask"]
    for i in (0, 2):   # dropped rows: the null condition, whatever the caption
        assert torch.allclose(dropped[i][fm[i]], unconditional[i][fm[i]], atol=1e-5)
    assert torch.allclose(dropped[1], m(**x)[1], atol=1e-5)        # kept rows: untouched
    assert not torch.allclose(dropped[0], m(**x)[0], atol=1e-4)
    other = inputs(seed=5)
    again = m(**{**x, "cond_token": other["cond_token"], "cond_states": other["cond_states"]}, drop_mask=drop)
    assert torch.allclose(again[0], dropped[0], atol=1e-5)
    # The null embeddings are parameters that dropped rows train.
    dropped.square().sum().backward()
    assert m.null_token.grad.abs().sum() > 0 and m.null_state.grad.abs().sum() > 0


def test_denoise_protocol_samples_with_guidance():
    m, x = model(), inputs()
    cond = {k: x[k] for k in ("cond_token", "cond_states", "cond_mask")}
    with torch.no_grad():
        out = ddim_sample(m.denoise, (B, T, CFG.features), cond, steps=3, mask=x["frame_mask"],
                          generator=torch.Generator().manual_seed(0))
    assert out.shape == (B, T, CFG.features) and torch.isfinite(out).all()


def test_a_few_steps_on_a_fixed_batch_reduce_the_loss():
    cfg = GeneratorConfig.tiny(features=12, cond_dim=8, width=32, ff=64, max_frames=16, dropout=0.1)
    m, x, s = model(1, cfg).train(), inputs(), CosineSchedule(1000)
    wave = torch.sin(torch.linspace(0, 6, T))[None, :, None] * torch.linspace(-1, 1, CFG.features)
    x0 = wave + x["cond_token"][:, None, :1]   # each row its own offset, read from its condition
    g = torch.Generator().manual_seed(0)
    t_eval = torch.tensor([100, 400, 700])
    noise_eval = torch.randn(x0.shape, generator=g)

    def evaluate():
        m.eval()
        with torch.no_grad():
            x_t = s.q_sample(x0, t_eval, noise_eval)
            loss = generator_loss(m(x_t, t_eval, x["frame_mask"], x["cond_token"], x["cond_states"],
                                    x["cond_mask"]), x0, x["frame_mask"])[0].item()
        m.train()
        return loss
    before = evaluate()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    for _ in range(60):
        t = torch.randint(0, 1000, (B,), generator=g)
        x_t = s.q_sample(x0, t, torch.randn(x0.shape, generator=g))
        drop = torch.rand(B, generator=g) < 0.1
        loss, parts = generator_loss(m(x_t, t, x["frame_mask"], x["cond_token"], x["cond_states"], x["cond_mask"],
                                       drop_mask=drop), x0, x["frame_mask"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert set(parts) == {"simple"} and isinstance(parts["simple"], float)
    after = evaluate()
    assert after < 0.5 * before


def test_length_head_learns_two_lengths_for_two_conditions():
    torch.manual_seed(0)
    head = LengthHead(cond_dim=8, hidden=32, max_frames=196)
    token = torch.randn(2, 8)
    states, mask = torch.randn(2, 3, 8), torch.tensor([[True, True, False], [True, False, False]])
    lengths = torch.tensor([40, 120])
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(150):
        loss = length_loss(head(token, states, mask), lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
    logits = head(token, states, mask)
    assert head.predict(logits).tolist() == [40, 120]
    drawn = head.predict(logits, sample=True, generator=torch.Generator().manual_seed(0), temperature=0.1)
    assert drawn.tolist() == [40, 120]
    # padded text states do not enter the mean
    states2 = states.clone()
    states2[0, 2] = 99
    assert torch.allclose(head(token, states2, mask), logits)


def test_masked_mse_is_a_per_sample_mean_over_real_frames():
    x = torch.zeros(2, 3, 2)
    x_hat = torch.tensor([[[1.0, 3.0], [2.0, 0.0], [9.0, 9.0]], [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    # row 0: frames (1 + 9) / 2 = 5 and (4 + 0) / 2 = 2 -> 3.5; row 1: (1 + 1) / 2 = 1
    assert masked_mse(x_hat, x, mask).tolist() == [3.5, 1.0]
    total, parts = generator_loss(x_hat, x, mask)
    assert total.item() == pytest.approx(2.25) and parts == {"simple": 2.25}


def test_geometric_terms_switch_on_with_their_weights():
    # Features are 2 joints x 3 coordinates; to_joints just reshapes them; foot joint = joint 1.
    to_joints = lambda f: f.reshape(*f.shape[:2], 2, 3)  # noqa: E731
    x0 = torch.zeros(1, 3, 6)
    x0[0, :, 0] = torch.tensor([0.0, 1.0, 2.0])        # joint 0 moves 1 per frame in x, joint 1 (foot) rests
    x_hat = torch.zeros(1, 3, 6)
    x_hat[0, :, 3] = torch.tensor([0.0, 0.5, 0.5])      # the predicted foot slides 0.5, then rests
    mask = torch.ones(1, 3, dtype=torch.bool)
    with pytest.raises(ValueError):
        generator_loss(x_hat, x0, mask, w_pos=1.0)
    # pos: per frame mean over 2 joints x 3 coords of squared error: frames 0, 1, 2:
    #   (0 + 0) / 6, (1 + 0.25) / 6, (4 + 0.25) / 6 -> mean 5.5 / 18
    # vel: GT velocities (1, 0, 0 | 0, 0, 0) twice, predicted (0 | 0.5) then (0 | 0): errors (1 + 0.25) / 6, 1 / 6
    # foot: contact on both pairs (GT foot still); predicted foot moves 0.5 then 0: (0.25 / 3, 0) -> 0.25 / 6
    total, parts = generator_loss(x_hat, x0, mask, to_joints, w_pos=2.0, w_vel=3.0, w_foot=4.0, foot_joints=(1,))
    simple = masked_mse(x_hat, x0, mask).item()
    assert parts["pos"] == pytest.approx(5.5 / 18) and parts["simple"] == pytest.approx(simple)
    assert parts["vel"] == pytest.approx((1.25 / 6 + 1 / 6) / 2)
    assert parts["foot"] == pytest.approx(0.25 / 6)
    assert total.item() == pytest.approx(simple + 2 * 5.5 / 18 + 3 * 2.25 / 12 + 4 * 0.25 / 6)
    only_vel = generator_loss(x_hat, x0, mask, to_joints, w_vel=1.0)[1]
    assert set(only_vel) == {"simple", "vel"}
