"""Phase `sopo`: SoPo preference tuning of a trained generator (Algorithm 1; Eq. 17), and the DPO baselines.

Per batch of (x_w from the dataset, caption c), with the frozen reference pi_ref = the base generator:
  1. K motions from the current policy at x_w's length, DDIM with `train.sopo.sampling_steps` steps and
     guidance, no gradients (line 4);
  2. their rewards r(x^k, c): each decoded to joints (features_to_joints), scored by the lexical model
     against c (models/reward.py; the lexical model is the reward, never the evaluator);
  3. x_l = the lowest-reward sample (line 6); beta_w = beta (C - min_k cos(x_w, x^k)) (line 5);
  4. one t and one noise for both motions, denoising errors of policy and reference, sopo_loss (lines 7-10);
     the error is the feature error (the papers') or the base's whole training loss (train.sopo.error,
     train/sopo_error.py).
Modes through the same code (train/sopo_loss.choose_pair): "online" takes the best and the worst of the K
policy samples as (x_w, x_l), "offline" the best and the worst of K samples drawn from the base generator
before training and then fixed (drawn per (clip, caption) with a seed of its own on first use, which is the
same as drawing them all up front, since the base never changes); both use dpo_loss. The policy runs
without dropout throughout: at step 0 it equals the reference, so every implicit reward starts at exactly 0.
"""
from __future__ import annotations

import copy

import torch

from ...models.reward import lexical_reward
from ...models.text_to_motion import decode, generator_seed, repeat_condition, sample
from ..batching import stable_seed, to_device
from ..feature_data import FeatureBatcher, FeatureClips
from ..generator_checkpoint import save_generator
from ..sopo_error import denoising_error_fn
from ..sopo_loss import choose_pair, dpo_loss, frozen_copy, policy_and_reference_errors, preference_weight, sopo_loss


def sopo_folder(cfg) -> str:
    suffix = "" if cfg.generator.condition == "lexical" else f"_{cfg.generator.condition}"
    return cfg.train.sopo.folder + suffix


class SopoPhase:
    name = "sopo"
    decay = "cosine"

    def __init__(self, cfg, condition, base, data: FeatureClips, lexical_model, device, lexical: dict,
                 reference: dict, fingerprint: str | None = None):
        self.cfg, self.pcfg, self.condition, self.data = cfg, cfg.train.sopo, condition, data
        self.base, self.lexical_model, self.device = base, lexical_model, device
        self.lexical, self.reference_info, self.fingerprint = lexical, reference, fingerprint
        self.policy = copy.deepcopy(base.model).to(device).eval()
        self.policy.requires_grad_(True)
        self.reference = frozen_copy(base.model).to(device)
        self.batcher = FeatureBatcher(data, self.pcfg.batch_size, cfg.train.seed, self.name)
        self.error_fn = denoising_error_fn(cfg, data.normalizer, device)
        self._pairs: dict = {}

    def batch(self, step: int) -> dict:
        batch = to_device(self.data.build(self.batcher.stream.batch(step)), self.device)
        batch["cond"] = self.condition(batch["texts"])
        return batch

    def rewards(self, samples, mask, texts, k: int) -> torch.Tensor:
        joints = decode(samples, mask, self.data.normalizer)
        r = lexical_reward(self.lexical_model, [t for t in texts for _ in range(k)], joints, self.pcfg.reward_map)
        return torch.as_tensor(r, dtype=torch.float32, device=samples.device).view(-1, k)

    def draw(self, model, cond, lengths, texts, seed: int):
        """K samples per row from `model` -> (samples (B, K, T, F), rewards (B, K))."""
        K, p = self.pcfg.samples, self.pcfg
        x, mask = sample(model, repeat_condition(cond, K), lengths.repeat_interleave(K), p.sampling_steps,
                         p.sampling_guidance, generator_seed(seed), self.cfg.train.generator.guidance_below)
        return x.view(len(texts), K, *x.shape[1:]), self.rewards(x, mask, texts, K)

    def offline_pair(self, batch, row: int):
        """The fixed (x_w, x_l, r_l) of a (clip, caption), drawn from the base generator on first use."""
        key = (batch["clip_ids"][row], batch["texts"][row])
        if key not in self._pairs:
            cond = {k: None if v is None else v[row:row + 1] for k, v in batch["cond"].items()}
            samples, rewards = self.draw(self.reference, cond, batch["lengths"][row:row + 1], [key[1]],
                                         stable_seed(self.cfg.train.seed, "offline-pairs", *key))
            best, worst = choose_pair(rewards, "online")
            self._pairs[key] = (samples[0, best[0]], samples[0, worst[0]], rewards[0])
        return self._pairs[key]

    def loss(self, batch: dict, step: int, total_steps: int):
        x0, mask, cond, texts = batch["x0"], batch["frame_mask"], batch["cond"], batch["texts"]
        B, mode, p = x0.shape[0], self.pcfg.mode, self.pcfg
        rows = torch.arange(B, device=x0.device)
        if mode == "offline":
            pairs = [self.offline_pair(batch, i) for i in range(B)]
            x_w, x_l = (torch.stack([_pad(pair[j], x0.shape[1]) for pair in pairs]) for j in (0, 1))
            rewards = torch.stack([r for _, _, r in pairs])
        else:
            samples, rewards = self.draw(self.policy, cond, batch["lengths"], texts,
                                         stable_seed(self.cfg.train.seed, "sopo-samples", step))
            best, worst = choose_pair(rewards, mode)
            x_l = samples[rows, worst]
            x_w = x0 if mode == "sopo" else samples[rows, best]
        reward_l = rewards.min(1).values
        schedule = self.policy.schedule
        t = torch.randint(0, schedule.steps, (B,), device=x0.device)
        noise = torch.randn_like(x0)
        policy_fn = lambda x_t, t_: self.policy.denoiser(x_t, t_, mask, **cond)  # noqa: E731
        reference_fn = lambda x_t, t_: self.reference.denoiser(x_t, t_, mask, **cond)  # noqa: E731
        errs_w = policy_and_reference_errors(policy_fn, reference_fn, schedule, x_w, t, noise, mask, self.error_fn)
        errs_l = policy_and_reference_errors(policy_fn, reference_fn, schedule, x_l, t, noise, mask, self.error_fn)
        if mode == "sopo":
            beta_w = preference_weight(x_w, samples, p.beta, p.C, mask)
            loss, parts = sopo_loss(*errs_w, *errs_l, reward_l, p.tau, p.beta, beta_w, p.dpo_scale)
            parts["beta_w"] = float(beta_w.mean())
        else:
            loss, parts = dpo_loss(*errs_w, *errs_l, p.beta, p.dpo_scale)
        return loss, {**parts, "reward_mean": float(rewards.mean()), "reward_worst": float(reward_l.mean()),
                      "reward_best": float(rewards.max(1).values.mean())}

    def save(self, directory, step, total, complete, metrics, train_state):
        save_generator(directory, self.policy, self.data.normalizer, self.cfg, variant=directory.name,
                       phase=self.name, step=step, total_steps=total, complete=complete, lexical=self.lexical,
                       reference=self.reference_info, train_frames=self.base.train_frames,
                       data_fingerprint=self.fingerprint, metrics=metrics, train_state=train_state,
                       extra={"mode": self.pcfg.mode})


def _pad(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(T_i, F) -> (frames, F) with zero rows after the real ones (the batch's padding)."""
    return torch.cat([x, x.new_zeros(frames - x.shape[0], x.shape[1])]) if x.shape[0] < frames else x
