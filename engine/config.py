"""Configs: frozen dataclasses, two named presets, JSON round trip (`--set` overrides: config_overrides.py).

    Config(model: ModelConfig, train: TrainConfig, data: DataConfig)

`TrainConfig` holds one sub-config per phase (steps or epochs, batch size, learning rates, mask
ratios, loss weights from the paper's tables 5-9) plus the options shared by the contrastive
phases (temperature, CCCL, triplet dropping, 1/LER). The config is saved beside every checkpoint
(`to_dict`) and read back (`from_dict`) so that evaluation replays exactly what was trained.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

from .config_checks import check_phase_section, phase_total_steps
from .config_generation import GeneratorTrainConfig, SopoConfig
from .errors import SpecError
from .models.config import ModelConfig
from .models.generator import GeneratorConfig

PHASES = ("lexmlm", "cmmm", "lexmmm", "lexcmlp")   # the paper's order (section 3.2)
DEFAULT_PHASES = PHASES + ("caption",)              # `--phases all`: the paper's four, then caption tuning (ours)
GENERATION_PHASES = ("evaluator", "generator", "sopo")   # after the lexical ones; run in this order
# In running order; `align` (ours: the motion side aligned further, text side frozen) goes before caption tuning.
ALL_PHASES = PHASES + ("align", "caption", "dense") + GENERATION_PHASES
TRIPLET_MODES = ("none", "mild", "drop")


# --------------------------------------------------------------------------------------------
# Per-phase configs. Learning rates: text 1e-5, motion 1e-4, heads/decoders 1e-3 (section 4.1).
@dataclass(frozen=True)
class PhaseConfig:
    steps: int = 0              # > 0 wins over epochs
    epochs: float = 1.0         # used when steps == 0: epochs * ceil(n_train / batch_size)
    batch_size: int = 64
    lr_text: float = 1e-5
    lr_motion: float = 1e-4
    lr_heads: float = 1e-3
    warmup_steps: int = 0       # linear lr warm-up

    def __post_init__(self):
        # learning rates (lr_*) and loss weights (w_*) must be >= 0, mask ratios in [0, 1]
        check_phase_section(self, lambda name: name.startswith(("lr_", "w_")))

    def total_steps(self, n_items: int) -> int:
        return phase_total_steps(self, n_items)


@dataclass(frozen=True)
class LexMLMConfig(PhaseConfig):
    """Eq. 5; weights from table 5 (0.1, 1, 1e-4), masks from table 6 (30%, 50->100%)."""
    batch_size: int = 128
    epochs: float = 50
    w_mlm: float = 0.1
    w_decoder: float = 1.0
    w_flops: float = 1e-4
    enc_mask: float = 0.30
    dec_mask_start: float = 0.50
    dec_mask_end: float = 1.00


@dataclass(frozen=True)
class CMMMConfig(PhaseConfig):
    """Eq. 6; table 7: 50% motion masking, recon and velocity weight 1, InfoNCE 0.1."""
    epochs: float = 200
    motion_mask: float = 0.50
    w_recon: float = 1.0
    w_velocity: float = 1.0
    w_info: float = 0.1


@dataclass(frozen=True)
class LexMMMConfig(PhaseConfig):
    """Eq. 7; table 8: decoder mask curriculum 40->100%. The lexical space stays frozen."""
    epochs: float = 150
    decoder_from_text: bool = True   # start the motion decoder as LexMLM's text decoder (see phases/lexmmm.py)
    # Ours, not the paper's: pull p_m toward its caption's (frozen) p_t. Without it the tiny runs'
    # motion vectors settled on a private code of junk words ("prior", "mustafa") that the decoder
    # could read but a person cannot; 0 gives the paper's Eq. 7 exactly.
    w_distill: float = 1.0
    w_decoder: float = 1.0
    w_flops: float = 1e-4
    dec_mask_start: float = 0.40
    dec_mask_end: float = 1.00


@dataclass(frozen=True)
class LexCMLPConfig(PhaseConfig):
    """Eq. 8; table 9: (1, 1e-4, 1e-2, 1e-2); every learning rate 1e-5 (section 4.1)."""
    epochs: float = 20
    lr_text: float = 1e-5
    lr_motion: float = 1e-5
    lr_heads: float = 1e-5
    w_info: float = 1.0
    w_flops: float = 1e-4
    w_aux_text: float = 1e-2     # L_aux^1: the LexMLM bottleneck decoder on text
    w_aux_motion: float = 1e-2   # L_aux^2: the LexMMM bottleneck decoder on motion
    dec_mask: float = 0.70       # fixed decoder mask for the auxiliary losses
    w_distill: float = 0.1       # ours: 1 - cos(p_m, sg(p_t)) as in LexMMM, lighter here
    freeze_head: bool = False    # keep the shared MLM head fixed (the paper trains it)
    w_mirror: float = 0.0        # ours: a mirrored motion reverses its left-vs-right word preference; 0 = off
    w_text_anchor: float = 0.0   # ours: 1 - cos(p_t, sg(p_t as the phase began)); keeps captions' words; 0 = off
    w_words: float = 0.0         # ours: caption words rank motions as keyword queries do (losses.caption_word_ranking)
    words_idf: bool = False      # ours: ... and a motion weighs its caption's rarer words more (their IDF)
    words_whole_forms: bool = False  # ours: ... a word cut into pieces counts as its whole forms (jogs -> jogging)
    hard_negatives: float = 0.0  # ours: share of a batch drawn as its clips' neighbours (train/hard_negatives.py)
    distill_literal: float = 0.0   # ours: share of w_distill's target kept only on the caption's own words
    anchor_literal: float = 0.0    # ours: the same share for the text anchor's target (the caption's words)


@dataclass(frozen=True)
class AlignConfig(LexCMLPConfig):
    """Ours: LexCMLP's losses with the text side frozen (phases/motion_align.py); nothing the text side
    trains (its decoder, the anchor) is weighed."""
    w_aux_text: float = 0.0
    w_text_anchor: float = 0.0


@dataclass(frozen=True)
class CaptionConfig(PhaseConfig):
    """Ours: the motion decoder alone on the final p_m, at captioning's masks (phases/caption.py)."""
    epochs: float = 20
    full_mask: float = 0.5       # share of steps with the whole caption masked (mask-predict's first pass)
    dec_mask_min: float = 0.5    # the other steps mask a ratio drawn from [dec_mask_min, 1]
    w_cider: float = 0.0         # self-critical CIDEr-D reward on the first pass (0 = off; phases/caption.py)
    cider_samples: int = 4       # sampled captions per motion for that reward
    head_rank: int = 64          # rank of the caption head fitted after the last step (0 = none; models/caption_head.py)
    head_ridge: float = 0.3      # its ridge penalty lambda


@dataclass(frozen=True)
class DenseConfig(PhaseConfig):
    """The CLIP-style dense baseline: same encoders, pooled dense vectors, InfoNCE."""
    epochs: float = 20
    w_info: float = 1.0


@dataclass(frozen=True)
class EvaluatorConfig(DenseConfig):
    """The generation evaluator: a separate retrieval model, the dense baseline trained from the base text
    model and a fresh motion encoder with its own seed, never seen by generator or SoPo training; plus the
    protocol `eval` runs with it (Guo et al. 2022: repetitions with 95% intervals, multimodality from
    several samples per prompt; fewer prompts and samples than their 100 x 30 on a CPU)."""
    seed: int = 1234
    repetitions: int = 3
    mm_prompts: int = 16        # prompts with several samples each, for multimodality
    mm_samples: int = 4         # samples per such prompt (pairs = min(10, samples))
    max_prompts: int = 0        # test clips generated per repetition (0 = all of the split)


@dataclass(frozen=True)
class TrainConfig:
    lexmlm: LexMLMConfig = field(default_factory=LexMLMConfig)
    cmmm: CMMMConfig = field(default_factory=CMMMConfig)
    lexmmm: LexMMMConfig = field(default_factory=LexMMMConfig)
    lexcmlp: LexCMLPConfig = field(default_factory=LexCMLPConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    caption: CaptionConfig = field(default_factory=CaptionConfig)
    dense: DenseConfig = field(default_factory=DenseConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    generator: GeneratorTrainConfig = field(default_factory=GeneratorTrainConfig)
    sopo: SopoConfig = field(default_factory=SopoConfig)
    temperature: float = 0.07       # InfoNCE on L2-normalised (dense) embeddings: CMMM views, dense baseline
    lex_temperature: float = 1.0    # LexCMLP's InfoNCE temperature: 1 for dot products (SPLADE), ~0.05 for cosines
    flops_ramp: float = 0.3         # fraction of a phase's steps over which the FLOPs weight ramps up
    # Options of the contrastive phases (LexCMLP and the dense baseline), each measured on its own:
    cccl: bool = False              # MoT++ CCCL: KL(cross-modal scores || uni-modal similarities)
    cccl_weight: float = 1.0        # ramped linearly from 0 over the phase (MoT++'s linear lambda)
    cccl_temperature: float = 0.1
    triplet: str = "none"           # none | mild | drop (Yan et al. 2023): extra triplet term
    triplet_weight: float = 1.0
    triplet_margin: float = 0.2
    triplet_threshold: float = 0.9  # intra-modal cosine above which a negative counts as false (dropped)
    triplet_warmup: float = 0.2     # fraction of steps trained with the plain SH loss first
    inverse_ler: float = 0.0        # weight of the 1/LER anti-collapse regulariser on motion tokens (0 = off)
    # A checkpoint (or finished run) the lexical phases start from, its model config and lexicon included,
    # instead of the base text model: e.g. `--init checkpoints/default --phases align,caption`. "" = fresh.
    init: str = ""
    grad_clip: float = 1.0
    adam_eps: float = 1e-8
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 200

    def __post_init__(self):
        if self.log_every < 1 or self.checkpoint_every < 1:
            raise SpecError("train.log_every and train.checkpoint_every must be >= 1")
        if self.temperature <= 0 or self.lex_temperature <= 0:
            raise SpecError("train.temperature and train.lex_temperature must be > 0")
        if self.triplet not in TRIPLET_MODES:
            raise SpecError(f"train.triplet must be one of {', '.join(TRIPLET_MODES)}, got {self.triplet!r}")

    def phase(self, name: str):
        if name not in ALL_PHASES:
            raise SpecError(f"unknown phase {name!r}; expected one of {', '.join(ALL_PHASES)}")
        return getattr(self, name)


@dataclass(frozen=True)
class DataConfig:
    specs: tuple[str, ...] = ("synthetic",)
    max_frames: int = 196           # HumanML3D's longest window (9.8 s at 20 fps)
    min_frames: int = 8
    # Extra caption-like text for LexMLM (one sentence a line, or `id<TAB>sentence`), read when present;
    # relative paths are resolved against the repository root. `make checkpoint` names the files it uses.
    extra_text: bool = True
    text_files: tuple[str, ...] = ()
    # Mirror augmentation (data/mirror.py): the share of training items seen mirrored left<->right with
    # their captions' side words swapped, as HumanML3D's mirrored copies; 0 = off.
    mirror: float = 0.0
    # Ours: each named dataset's share of every motion batch in joint training, `name=share` (the clip-id prefix:
    # synthetic, synthetic2, bandai, ...); the datasets not named split the rest by their sizes. () = batches
    # drawn uniformly over all clips (train/dataset_shares.py).
    shares: tuple[str, ...] = ()

    def __post_init__(self):
        if not 0.0 <= self.mirror <= 1.0:
            raise SpecError(f"data.mirror is a probability in [0, 1], got {self.mirror}")
        self.share_map()

    def share_map(self) -> dict[str, float]:
        """data.shares as {dataset: share}, checked: each in (0, 1], a dataset named once, at most 1 in all."""
        out: dict[str, float] = {}
        for item in self.shares:
            name, _, text = item.partition("=")
            try:
                share = float(text)
            except ValueError:
                share = -1.0
            if not name.strip() or not 0.0 < share <= 1.0 or name.strip() in out:
                raise SpecError(f"data.shares: {item!r} is not dataset=share with a share in (0, 1] "
                                f"and each dataset named once")
            out[name.strip()] = share
        if sum(out.values()) > 1.0 + 1e-9:
            raise SpecError(f"data.shares add up to {sum(out.values()):g}, more than the whole batch")
        return out


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)   # the text-to-motion network


# --------------------------------------------------------------------------------------------
# Presets
def preset(name: str) -> Config:
    if name not in PRESETS:
        raise SpecError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[name]()


def paper_config() -> Config:
    """The paper (section 4.1, tables 5-9), on a GPU: epochs 50 + 200 + 150 + 20, batch 128 / 64 / 64 / 64,
    learning rates text 1e-5, motion 1e-4, heads 1e-3 (LexCMLP 1e-5 throughout), the paper's loss weights and
    mask ratios, and every one of our additions off: no distillation, text anchor or mirror term, LexMMM's
    decoder trained from scratch, no FLOPs ramp, dot-product scores at T = 1 over all terms of the full
    vocabulary, the LM head on every motion token, Eq. 4 without the mass normalisation, no extra text, no
    caption head. `--phases lexmlm,cmmm,lexmmm,lexcmlp` is the paper's recipe (`all` adds caption tuning, ours).
    """
    train = TrainConfig(
        lexmlm=LexMLMConfig(),
        cmmm=CMMMConfig(),
        lexmmm=LexMMMConfig(batch_size=64, decoder_from_text=False, w_distill=0.0),
        lexcmlp=LexCMLPConfig(w_distill=0.0, w_mirror=0.0, w_text_anchor=0.0, distill_literal=0.0,
                              anchor_literal=0.0),
        caption=CaptionConfig(head_rank=0),
        evaluator=EvaluatorConfig(), generator=GeneratorTrainConfig.paper(), sopo=SopoConfig.paper(),
        lex_temperature=1.0, flops_ramp=0.0)
    return Config(model=ModelConfig.paper(), train=train, data=DataConfig(max_frames=196, extra_text=False),
                  generator=GeneratorConfig.paper())


def tiny_config() -> Config:
    """CPU-sized: the whole recipe on 2 cores in tens of minutes (timings in bench/RESULTS.md).

    Step counts are fixed (not epochs) so the wall time does not grow with the dataset. The restricted
    lexicon of the training text's own terms (no embedding neighbours) keeps the vocabulary projections
    cheap. LexCMLP's motion and head learning rates are 1e-4 (paper 1e-5) because it gets few steps; its
    scores are cosines at T = 0.05 over each vector's 64 heaviest terms, with our additions switched on:
    the pull toward the caption's vector, the mirror term and the text anchor, whose targets keep the
    caption's own words at full weight and its expansions at a quarter (distill_literal, anchor_literal).
    The optional motion alignment phase (`align`, run by `make checkpoint` on the finished run) adds the
    caption-word ranking term with the text side frozen, reading a caption word cut into pieces as its whole forms
    ("jogs" as jogging, words_whole_forms), and draws 2 of each batch's 32 clips as nearest neighbours of 2 others
    (hard negatives: a walk that turns beside a walk). Half of the training items are seen mirrored with their
    captions' sides swapped (data.mirror), and the lexical vectors weigh words only (model.scored_terms).
    bench/RESULTS.md measures each choice.
    """
    train = TrainConfig(
        lexmlm=LexMLMConfig(steps=300, batch_size=32),
        cmmm=CMMMConfig(steps=1500, batch_size=32),
        lexmmm=LexMMMConfig(steps=400, batch_size=32),
        lexcmlp=LexCMLPConfig(steps=1000, batch_size=32, lr_motion=1e-4, lr_heads=1e-4, w_distill=1.0, w_mirror=1.0,
                              w_text_anchor=1.0, distill_literal=0.75, anchor_literal=0.75),
        align=AlignConfig(steps=800, batch_size=32, lr_motion=1e-4, lr_heads=1e-4, w_distill=1.0, w_mirror=1.0,
                          distill_literal=0.75, w_words=1.0, words_idf=True, words_whole_forms=True,
                          hard_negatives=0.0625),
        caption=CaptionConfig(steps=2400, batch_size=32),
        dense=DenseConfig(steps=400, batch_size=32),
        evaluator=EvaluatorConfig(steps=400, batch_size=32, max_prompts=96), generator=GeneratorTrainConfig.tiny(),
        sopo=SopoConfig.tiny(),
        lex_temperature=0.05, log_every=10, checkpoint_every=100)
    # The generator's tiny network (GeneratorConfig.tiny() is smaller, for unit tests) and step budgets:
    # measured in bench/RESULTS.md ("Generation").
    return Config(model=ModelConfig.tiny(), train=train, data=DataConfig(max_frames=64, mirror=0.5),
                  generator=GeneratorConfig(width=256, depth=4, heads=4, ff=512))


PRESETS = {"tiny": tiny_config, "paper": paper_config}


# --------------------------------------------------------------------------------------------
# Round trip
def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(data: dict, cls=Config, strict: bool = True):
    """Rebuild a (nested) config; missing keys take the defaults. Unknown keys are an error, or with
    strict=False (a checkpoint written by an older version) dropped with a warning."""
    if not isinstance(data, dict):
        raise SpecError(f"expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown and strict:
        raise SpecError(f"unknown {cls.__name__} keys: {', '.join(sorted(unknown))}")
    if unknown:
        import warnings
        warnings.warn(f"ignoring config keys this version does not know: {cls.__name__}."
                      f"{', '.join(sorted(unknown))}", stacklevel=2)
    kwargs = {}
    for name in known & set(data):
        kwargs[name] = _coerce(data[name], hints[name], f"{cls.__name__}.{name}", strict)
    return cls(**kwargs)


def _coerce(value, hint, key, strict=True):
    if isinstance(hint, type) and is_dataclass(hint):
        return from_dict(value, hint, strict)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple and isinstance(value, list):
        return tuple(_coerce(v, args[0], key) for v in value) if args else tuple(value)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        for arg in (a for a in args if a is not type(None)):
            if isinstance(arg, type) and is_dataclass(arg) and isinstance(value, dict):
                return from_dict(value, arg, strict)
            if typing.get_origin(arg) is tuple and isinstance(value, list):
                return _coerce(value, arg, key)
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def save_config(cfg: Config, path: str | Path) -> Path:
    from .atomic import atomic_write_bytes
    return atomic_write_bytes(Path(path), json.dumps(to_dict(cfg), indent=1).encode())


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        from .errors import InputError
        raise InputError(path, f"cannot read the config: {err}") from None
    return from_dict(data)
