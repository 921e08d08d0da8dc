"""LexicalMotionLanguageModel: everything the four phases train, in one module (paper section 3).

text backbone + MLM head (shared by the text and motion lexical heads: both map through the LM head into
the vocabulary) + motion encoder + two lexical bottleneck decoders (LexMLM's for text, LexMMM's for
motion) + CMMM's reconstruction head + dense projection heads for the CLIP-style dense baseline.
A restricted lexicon is data-dependent: build it with `build_lexicon(texts)` before training, or
`set_lexicon(Lexicon(state["lexicon.term_ids"], vocab_size))` before loading a checkpoint's weights.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.models.bottleneck_decoder import BottleneckDecoder
from engine.models.caption_head import CaptionHead
from engine.models.config import ModelConfig
from engine.models.lexical import motion_lexical as pool_motion_lexical
from engine.models.lexical import lexical_pool
from engine.models.lexicon import Lexicon
from engine.models.mlm_head import MLMHead
from engine.models.motion_encoder import MotionEncoder, MotionTokens
from engine.models.reconstruction_head import ReconstructionHead
from engine.models.text_encoder import freeze_lower_layers, load_text_backbone
from engine.vocab import is_scored_term


class LexicalMotionLanguageModel(nn.Module):
    def __init__(self, cfg: ModelConfig, lexicon_texts: Iterable[str] | None = None):
        super().__init__()
        self.cfg = cfg
        self.text_backbone, self.tokenizer = load_text_backbone(cfg.text_model_path)
        freeze_lower_layers(self.text_backbone, cfg.freeze_text_layers)
        hidden = self.text_backbone.config.hidden_size
        self.vocab_size = self.text_backbone.config.vocab_size
        self.hidden = hidden
        self.mlm_head = MLMHead(self.text_backbone.embeddings.word_embeddings, hidden)
        self.motion_encoder = MotionEncoder(cfg, out_dim=hidden)
        self.text_decoder = BottleneckDecoder(cfg, hidden, self.vocab_size)
        self.motion_decoder = BottleneckDecoder(cfg, hidden, self.vocab_size)
        self.motion_recon_head = ReconstructionHead(cfg, hidden)
        self.text_dense_head = nn.Linear(hidden, cfg.dense_dim)
        self.motion_dense_head = nn.Linear(hidden, cfg.dense_dim)
        self.caption_head = CaptionHead(cfg.lex_top_k)   # fitted by caption tuning, empty until then
        self.set_lexicon(Lexicon.full(self.vocab_size))
        if lexicon_texts is not None and cfg.lexicon == "restricted":
            self.build_lexicon(lexicon_texts)

    # ---- vocabulary -------------------------------------------------------------------------
    def word_embeddings(self) -> torch.Tensor:
        """W_te (V, H): the tied word-embedding matrix of the text backbone."""
        return self.text_backbone.embeddings.word_embeddings.weight

    def build_lexicon(self, texts: Iterable[str]) -> Lexicon:
        lexicon = Lexicon.from_texts(texts, self.tokenizer, self.word_embeddings(), self.cfg.lexicon_neighbours)
        self.set_lexicon(lexicon)
        return lexicon

    def set_lexicon(self, lexicon: Lexicon) -> None:
        if self.cfg.scored_terms == "words":
            vocab = self.tokenizer.get_vocab()
            lexicon.score_only(i for w, i in vocab.items() if is_scored_term(w))
        self.lexicon = lexicon.to(self.device)

    def lexical_vector(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Eq. 2's pooled vector p over the terms this model scores (model.scored_terms)."""
        return self.lexicon.scored_weights(lexical_pool(logits, mask))

    @property
    def device(self) -> torch.device:
        return self.mlm_head.bias.device

    # ---- text -------------------------------------------------------------------------------
    def tokenize(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (ids (B, L) long, mask (B, L) bool) on the model's device, L <= cfg.max_text_len."""
        enc = self.tokenizer(list(captions), padding="longest", truncation=True,
                             max_length=self.cfg.max_text_len, return_tensors="pt")
        return enc["input_ids"].to(self.device), enc["attention_mask"].bool().to(self.device)

    def text_hidden(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.text_backbone(input_ids=ids, attention_mask=mask.long()).last_hidden_state

    def text_lexical(self, ids: torch.Tensor, mask: torch.Tensor, return_logits: bool = False):
        """-> (p (B, len(lexicon)), hidden (B, L, H)) [, logits (B, L, len(lexicon)) for the encoder MLM]."""
        hidden = self.text_hidden(ids, mask)
        logits = self.mlm_head(hidden, self.lexicon.head_ids())
        p = self.lexical_vector(logits, mask)
        return (p, hidden, logits) if return_logits else (p, hidden)

    def text_dense(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, dense_dim), mean pooled over real tokens, L2-normalised."""
        hidden = self.text_hidden(ids, mask)
        w = mask[..., None].to(hidden.dtype)
        return F.normalize(self.text_dense_head((hidden * w).sum(1) / w.sum(1).clamp_min(1)), dim=-1)

    # ---- motion -----------------------------------------------------------------------------
    def motion_tokens(self, joints: torch.Tensor, frame_mask: torch.Tensor,
                      masked: torch.Tensor | None = None) -> MotionTokens:
        return self.motion_encoder(joints, frame_mask, masked)

    def motion_lexical_from_tokens(self, mt: MotionTokens) -> torch.Tensor:
        p = pool_motion_lexical(mt.tokens, mt.token_mask, self.mlm_head, self.cfg.lex_pool_windows,
                                self.lexicon.head_ids())
        return self.lexicon.scored_weights(p)

    def motion_lexical(self, joints: torch.Tensor, frame_mask: torch.Tensor,
                       masked: torch.Tensor | None = None) -> tuple[torch.Tensor, MotionTokens]:
        """-> (p (B, len(lexicon)), MotionTokens)."""
        mt = self.motion_tokens(joints, frame_mask, masked)
        return self.motion_lexical_from_tokens(mt), mt

    def motion_dense_from_tokens(self, mt: MotionTokens) -> torch.Tensor:
        w = mt.token_mask[:, :, None, None].to(mt.tokens.dtype)
        mean = (mt.tokens * w).sum((1, 2)) / (w.sum((1, 2)) * mt.tokens.shape[2]).clamp_min(1)
        return F.normalize(self.motion_dense_head(mean), dim=-1)

    def motion_dense(self, joints: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """(B, dense_dim), mean pooled over real tokens, L2-normalised (also CMMM's view embedding)."""
        return self.motion_dense_from_tokens(self.motion_tokens(joints, frame_mask))

    def reconstruct(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, Tp, P, H) -> (B, Tp * patch_frames, 22, 3) featurised positions (MotionTokens.features)."""
        return self.motion_recon_head(tokens)

    # ---- bottleneck decoders (Eq. 4) ---------------------------------------------------------
    def decode_text(self, p: torch.Tensor, masked_ids: torch.Tensor, mask: torch.Tensor,
                    decoder: str = "text") -> torch.Tensor:
        """Logits (B, L, len(lexicon)) of the text or motion bottleneck decoder for lexical vector p."""
        dec = self.text_decoder if decoder == "text" else self.motion_decoder
        return dec(p, masked_ids, mask, self.word_embeddings(), self.lexicon.head_ids())

    # ---- training plumbing -------------------------------------------------------------------
    def param_groups(self, lr_text: float, lr_motion: float, lr_heads: float) -> list[dict]:
        """Adam parameter groups (trainable parameters only; empty groups left out)."""
        text = [p for p in self.text_backbone.parameters() if p.requires_grad]
        motion = [p for p in self.motion_encoder.parameters() if p.requires_grad]
        taken = {id(p) for p in self.text_backbone.parameters()} | {id(p) for p in self.motion_encoder.parameters()}
        heads = [p for p in self.parameters() if p.requires_grad and id(p) not in taken]
        groups = [("text", text, lr_text), ("motion", motion, lr_motion), ("heads", heads, lr_heads)]
        return [{"name": n, "params": ps, "lr": lr} for n, ps, lr in groups if ps]

    def frozen_parameter_names(self) -> list[str]:
        """State-dict names of the frozen base text weights (identical to the base file: not stored again)."""
        return [f"text_backbone.{n}" for n, p in self.text_backbone.named_parameters() if not p.requires_grad]
