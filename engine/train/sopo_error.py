"""Our addition to SoPo / Diffusion-DPO: the denoising error the preference terms compare, chosen by
`train.sopo.error`.

Diffusion-DPO (and SoPo after it) stands a model's log-likelihood of a motion in with its denoising error, the
per-step term of the diffusion ELBO, which is what the base was trained to lower. Our base is not trained on
the feature error alone: MDM's velocity and foot-contact terms weigh heavily in its loss (train.generator.w_vel,
w_foot). Tuned on the feature error alone ("features", the papers' choice), nothing holds those terms: SoPo at
lr 1e-4 raised the jitter of the base's samples from 13 to 23 m/s^2 (bench/RESULTS.md, "SoPo's learning rate").
"generator_loss" compares the base's own training loss instead: the feature error plus the geometric terms at
the generator's weights, per sample.
"""
from __future__ import annotations

from ..models.features_torch import FeatureDecoder
from ..models.generator import geometric_terms, masked_mse, weighted_terms


def denoising_error_fn(cfg, normalizer, device):
    """fn(x0_hat, x0, frame_mask) -> (B,) errors for train.sopo.error under config `cfg`."""
    if cfg.train.sopo.error == "features":
        return masked_mse
    g = cfg.train.generator
    to_joints = FeatureDecoder(normalizer.mean, normalizer.std, device)
    to_steps = to_joints.steps if g.geometry == "root" else None

    def generator_loss_error(x0_hat, x0, frame_mask):
        terms = geometric_terms(x0_hat, x0, frame_mask, to_joints, g.w_pos, g.w_vel, g.w_foot, to_steps=to_steps)
        return weighted_terms(terms, g.w_pos, g.w_vel, g.w_foot)

    return generator_loss_error
