"""Config sections of the text-to-motion generator's training: `train.generator` and `train.sopo`.

(The network itself is the top-level `generator` section, models/generator.GeneratorConfig; the evaluator's
section `train.evaluator` is a dense-baseline phase config and lives in engine/config.py.) Both sections
are frozen dataclasses like the rest of engine/config.py, saved with every generator checkpoint.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .config_checks import check_phase_section, phase_total_steps
from .errors import SpecError

SOPO_MODES = ("sopo", "offline", "online")
GEOMETRIES = ("world", "root")
SOPO_FOLDERS = {"sopo": "sopo", "offline": "dpo_offline", "online": "dpo_online"}


@dataclass(frozen=True)
class _Steps:
    steps: int = 0              # > 0 wins over epochs
    epochs: float = 1.0         # used when steps == 0: epochs * ceil(n_train / batch_size)
    batch_size: int = 64
    lr: float = 1e-4
    warmup_steps: int = 0       # linear warm-up from 0
    weight_decay: float = 0.0   # AdamW
    grad_clip: float = 1.0      # 0 = off

    def __post_init__(self):
        check_phase_section(self, _non_negative)

    def total_steps(self, n_items: int) -> int:
        return phase_total_steps(self, n_items)


def _non_negative(name: str) -> bool:
    """The fields of these sections that must be >= 0: loss weights, the learning rate, decay and clipping."""
    return name.startswith("w_") or name in ("lr", "weight_decay", "grad_clip")


@dataclass(frozen=True)
class GeneratorTrainConfig(_Steps):
    """MDM's recipe (Tevet et al. 2023): AdamW at 1e-4, batch 64, x0 loss, 10% null condition (the rate is
    `generator.cond_drop`, beside the network that learns the null embeddings), optional geometric terms
    (0 on HumanML3D in MDM), plus our length head's cross-entropy."""
    train_frames: int = 196     # clips longer than this are randomly cropped; also the longest generated clip
    w_pos: float = 0.0
    w_vel: float = 0.0
    w_foot: float = 0.0
    w_length: float = 1.0
    # Frame of the velocity and foot terms' displacements: "world" (MDM's: differences of the decoded joints,
    # through the root's running sums) or "root" (our addition: each step in its first frame's root frame,
    # models/features_torch.root_frame_steps)
    geometry: str = "world"
    guidance: float = 2.5       # classifier-free guidance scale used when serving and evaluating
    sampling_steps: int = 50    # DDIM steps when serving and evaluating (MDM's fast variant, SoPo's setting)
    # Guidance only at the diffusion steps t < guidance_below (Kynkaanniemi et al. 2024's limited interval; 1000 =
    # every step, MDM's): above it the conditional prediction alone (models/diffusion.py)
    guidance_below: int = 1000
    # Gaussian over time on the decoded joints when serving and evaluating, in frames (0 = the raw output):
    # 0.75: the lightest of 0.5/0.6/0.75/1/1.25 that brings both shipped generators' jitter within 1.5x the data's
    # on the validation split (raw: 2.8x base, 4.2x SoPo); bench/RESULTS.md, "output smoothing".
    smoothing: float = 0.75
    # Planted feet hold the body back when serving and evaluating (motion_io/foot_lock.py). Off: on the validation
    # split it cut the skating by a third and cost R-precision top-3 0.06-0.07 (bench/RESULTS.md, "foot locking")
    foot_lock: bool = False
    base: str = ""              # lexical checkpoint to condition on when the run trains no lexical phase

    def __post_init__(self):
        super().__post_init__()
        if self.train_frames < 2:
            raise SpecError("train.generator.train_frames must be >= 2")
        if not 1 <= self.sampling_steps <= 1000 or not 0 <= self.guidance <= 20:
            raise SpecError("train.generator.sampling_steps must be in 1..1000 and guidance in [0, 20]")
        if not 1 <= self.guidance_below <= 1000:
            raise SpecError("train.generator.guidance_below must be in 1..1000 (1000: guidance at every step)")
        if not 0 <= self.smoothing <= 10:
            raise SpecError("train.generator.smoothing must be in [0, 10] frames")
        if self.geometry not in GEOMETRIES:
            raise SpecError(f"train.generator.geometry must be one of {', '.join(GEOMETRIES)}, not {self.geometry!r}")

    @classmethod
    def tiny(cls, **overrides):
        # 2,000 steps at batch 32 on clips of up to 96 frames (4.8 s), 5e-4 (MDM 1e-4) after a 200-step warm-up:
        # ~30 minutes on 2 cores. MDM's velocity and foot-contact terms at 1000 (our joints are in metres, so a
        # per-frame velocity error is ~1e-4 m^2: at MDM's weight 1 the terms would be nil); measured at 0, 100, 300
        # and 1000: every evaluator figure and the jitter improved up to 1000 (FID 0.53 -> 0.12 -> 0.07, jitter
        # 41 -> 19 -> 13 m/s^2): bench/RESULTS.md, "MDM's geometric terms" and "velocity and foot-contact weights".
        # Both terms in the root frame (geometry "root"): in the world frame at 1000 the network stopped reproducing
        # the root block and its walks glided (RESULTS.md, "root-frame geometric terms"). The foot-contact term at
        # 10000: at 1000 / 3000 / 10000 the validation skating was 1.13x / 1.04x / 0.87x the data's (test, at 1000:
        # 1.51x, the physical bar), top-3 within the intervals, MM-Dist and FID a little worse (RESULTS.md, "the
        # foot-contact weight").
        return replace(cls(steps=2000, batch_size=32, lr=5e-4, warmup_steps=200, train_frames=96, w_vel=1000.0,
                           w_foot=10000.0, geometry="root"), **overrides)

    @classmethod
    def paper(cls, **overrides):
        return replace(cls(steps=600_000, batch_size=64, lr=1e-4, train_frames=196), **overrides)


@dataclass(frozen=True)
class SopoConfig(_Steps):
    """SoPo (Algorithm 1, Eq. 17; appendix C.1): AdamW at 1e-5, linear warm-up then cosine decay, K samples
    per caption from the current policy, threshold tau, beta_w = beta (C - S(x_w)), the Diffusion-DPO scale
    T w_t. mode: "sopo" (dataset preferred, worst sample unpreferred), "online" (best and worst of K),
    "offline" (best and worst of K drawn once from the base generator before training, then fixed)."""
    mode: str = "sopo"
    lr: float = 1e-5
    samples: int = 4            # K
    tau: float = 0.45
    C: float = 2.0
    beta: float = 1.0
    dpo_scale: float = 1000.0   # T w_t with T = 1000 and w_t = 1 (Diffusion-DPO's practice)
    sampling_steps: int = 50    # DDIM steps of the online samples (fewer than serving on a CPU)
    sampling_guidance: float = 2.5
    reward_map: str = "identity"   # models/reward.REWARD_MAPS: r = cos, or (1 + cos) / 2
    # The denoising error the preference terms compare (train/sopo_error.py): "features" (the papers') or
    # "generator_loss" (the base's training loss, with MDM's geometric terms at train.generator's weights).
    error: str = "features"

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in SOPO_MODES:
            raise SpecError(f"train.sopo.mode must be one of {', '.join(SOPO_MODES)}, not {self.mode!r}")
        if self.samples < 2:
            raise SpecError("train.sopo.samples (K) must be >= 2")
        if not 1 <= self.sampling_steps <= 1000:
            raise SpecError("train.sopo.sampling_steps must be in 1..1000")
        if self.reward_map not in ("identity", "half"):
            raise SpecError("train.sopo.reward_map must be 'identity' or 'half'")
        if self.error not in ("features", "generator_loss"):
            raise SpecError("train.sopo.error must be 'features' or 'generator_loss'")

    @property
    def folder(self) -> str:
        return SOPO_FOLDERS[self.mode]

    @classmethod
    def tiny(cls, **overrides):
        # K = 4 online samples with 10 DDIM steps (serving: 50) for each of 8 captions: ~5 s/step, 180 steps ~16
        # minutes on one thread (bench/RESULTS.md, "Generation"); the seed's C, beta. tau recalibrated to our reward:
        # 0.6, the 5th percentile of dataset motions with their own caption (0.61); at the seed's 0.45 the worst
        # of 4 samples of the trained base was above tau in every step, so only the preferred term ever trained.
        # lr 3e-5, 3x the seed's: at 1e-5 for 180 steps the policy barely moved (rewards +0.012 at most); on the
        # root-frame base, 1e-4 cost R-precision and doubled the skating, while 3e-5 kept the base's top-3 and
        # improved MM-Dist and FID on the validation split (RESULTS.md, "SoPo's learning rate" and "root-frame
        # geometric terms").
        return replace(cls(steps=180, batch_size=8, lr=3e-5, warmup_steps=18, samples=4, sampling_steps=10, tau=0.6),
                       **overrides)

    @classmethod
    def paper(cls, **overrides):
        # The seed gives batch 64, lr 1e-5, K = 4 (MDM), tau 0.45, C 2, beta 1 and "up to 100 minutes" on
        # one GPU, not a step count: 2000 steps with a 100-step warm-up is our reading of that budget.
        return replace(cls(steps=2000, batch_size=64, warmup_steps=100, sampling_steps=50), **overrides)
