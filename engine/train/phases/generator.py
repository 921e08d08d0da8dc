"""Phase `generator`: the MDM-style text-to-motion diffusion model on the frozen lexical text encoder.

Per step (MDM, Tevet et al. 2023, section 3): a batch of (normalised features x0, caption); t ~ U{0..T-1},
x_t = q_sample(x0, t, eps); `generator.cond_drop` of the rows get the null condition (classifier-free
guidance); the denoiser predicts x0 and the loss is generator_loss (L_simple + the optional geometric terms
through the differentiable features -> joints decoder), plus the length head's cross-entropy of the clip's
length. The condition comes from models/text_condition.TextCondition (lexical or sentence), under no_grad:
the lexical model is never trained here. Trains: the denoiser and the length head (all of TextToMotion).
"""
from __future__ import annotations

import torch

from ...models.features_torch import FeatureDecoder
from ...models.generator import generator_loss, length_loss
from ...models.text_to_motion import TextToMotion
from ..batching import stable_seed, to_device
from ..feature_data import FeatureBatcher, FeatureClips
from ..generator_checkpoint import save_generator


def generator_folder(cfg) -> str:
    return "generator" if cfg.generator.condition == "lexical" else f"generator_{cfg.generator.condition}"


class GeneratorPhase:
    name = "generator"
    decay = "constant"

    def __init__(self, cfg, condition, data: FeatureClips, device, lexical: dict, fingerprint: str | None = None):
        self.cfg, self.pcfg, self.condition, self.data = cfg, cfg.train.generator, condition, data
        self.device, self.lexical, self.fingerprint = device, lexical, fingerprint
        torch.manual_seed(stable_seed(cfg.train.seed, "generator-init"))
        self.policy = TextToMotion(cfg.generator).to(device).train()
        self.batcher = FeatureBatcher(data, self.pcfg.batch_size, cfg.train.seed, self.name)
        p = self.pcfg
        geometric = max(p.w_pos, p.w_vel, p.w_foot) > 0
        self.to_joints = FeatureDecoder(data.normalizer.mean, data.normalizer.std, device) if geometric else None

    def batch(self, step: int) -> dict:
        batch = to_device(self.data.build(self.batcher.stream.batch(step)), self.device)
        batch["cond"] = self.condition(batch["texts"])
        return batch

    def loss(self, batch: dict, step: int, total_steps: int):
        x0, mask, cond = batch["x0"], batch["frame_mask"], batch["cond"]
        B = x0.shape[0]
        schedule = self.policy.schedule
        t = torch.randint(0, schedule.steps, (B,), device=x0.device)
        x_t = schedule.q_sample(x0, t, torch.randn_like(x0))
        drop = torch.rand(B, device=x0.device) < self.cfg.generator.cond_drop
        x0_hat = self.policy.denoiser(x_t, t, mask, drop_mask=drop, **cond)
        p = self.pcfg
        to_steps = self.to_joints.steps if self.to_joints is not None and p.geometry == "root" else None
        loss, parts = generator_loss(x0_hat, x0, mask, to_joints=self.to_joints, w_pos=p.w_pos, w_vel=p.w_vel,
                                     w_foot=p.w_foot, to_steps=to_steps)
        logits = self.policy.length_head(cond["cond_token"], cond.get("cond_states"), cond.get("cond_mask"))
        l_len = length_loss(logits, batch["lengths"])
        return loss + p.w_length * l_len, {**parts, "length": l_len.detach(), "cond_drop_share": drop.float().mean()}

    def save(self, directory, step, total, complete, metrics, train_state):
        save_generator(directory, self.policy, self.data.normalizer, self.cfg, variant=directory.name,
                       phase=self.name, step=step, total_steps=total, complete=complete, lexical=self.lexical,
                       train_frames=self.data.train_frames, data_fingerprint=self.fingerprint, metrics=metrics,
                       train_state=train_state)
