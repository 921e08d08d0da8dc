"""A BERT encoder in plain PyTorch (Devlin et al. 2019), loading a BERT-family folder's safetensors directly.

Why our own: importing transformers' BertModel costs seconds (its import machinery loads far more than
BERT), which a user pays before the first search or caption. The encoder itself is small: embeddings
(word + position + token type, LayerNorm), then N layers of self-attention and a GELU feed-forward, each
with a residual and a post-LayerNorm. Module and parameter names follow transformers' BertModel
(embeddings.word_embeddings, encoder.layer.3.attention.self.query, ...), so checkpoints written with either
load into the other; tests/test_models_bert.py checks the outputs equal transformers' to float precision.
The pooler is not built (sentence-transformers' pooler weights in the folder are ignored).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.errors import InputError


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    pad_token_id: int = 0

    @classmethod
    def from_folder(cls, folder: Path) -> "BertConfig":
        """The folder's config.json; anything but an absolute-position GELU BERT is refused by name."""
        raw = json.loads((folder / "config.json").read_text())
        problems = [f"{key} {raw.get(key)!r} (need {want!r})" for key, want in
                    (("model_type", "bert"), ("hidden_act", "gelu"), ("position_embedding_type", "absolute"))
                    if raw.get(key, want) != want]
        if problems:
            raise InputError(folder / "config.json", "not a BERT encoder this reader knows: " + ", ".join(problems))
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


class BertOutputs(NamedTuple):
    last_hidden_state: torch.Tensor   # (B, L, H), as transformers names it
    hidden_states: tuple | None = None  # with output_hidden_states: the embeddings' output, then each layer's


class BertEmbeddings(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions)[None] + self.token_type_embeddings.weight[0]
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.heads = cfg.num_attention_heads
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.dropout = nn.Dropout(cfg.attention_probs_dropout_prob)   # on the attention probabilities, via SDPA

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """softmax(Q K^T / sqrt(d) over the kept keys) V per head; keep (B, 1, 1, L) True = a real token."""
        B, L, H = x.shape
        q, k, v = (proj(x).view(B, L, self.heads, H // self.heads).transpose(1, 2)
                   for proj in (self.query, self.key, self.value))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep,
                                             dropout_p=self.dropout.p if self.training else 0.0)
        return out.transpose(1, 2).reshape(B, L, H)


class BertSelfOutput(nn.Module):
    """dense, dropout, then LayerNorm of the residual sum (used after attention and after the feed-forward)."""

    def __init__(self, cfg: BertConfig, width_in: int):
        super().__init__()
        self.dense = nn.Linear(width_in, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = BertSelfOutput(cfg, cfg.hidden_size)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, keep), x)


class BertIntermediate(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))          # the exact (erf) GELU, BERT's "gelu"


class BertLayer(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertSelfOutput(cfg, cfg.intermediate_size)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, keep)
        return self.output(self.intermediate(x), x)


class BertEncoder(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(cfg) for _ in range(cfg.num_hidden_layers))


class BertModel(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.config = cfg
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                output_hidden_states: bool = False) -> BertOutputs:
        """input_ids (B, L); attention_mask (B, L), 1 = real token. -> BertOutputs(last_hidden_state (B, L, H))."""
        if input_ids.shape[1] > self.config.max_position_embeddings:
            raise ValueError(f"{input_ids.shape[1]} tokens exceed the model's {self.config.max_position_embeddings}")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        keep = attention_mask.bool()[:, None, None, :]
        x = self.embeddings(input_ids)
        states = [x]
        for layer in self.encoder.layer:
            x = layer(x, keep)
            states.append(x)
        return BertOutputs(x, tuple(states) if output_hidden_states else None)


def load_bert(folder: Path) -> BertModel:
    """A BertModel with the folder's weights (model.safetensors, else pytorch_model.bin read weights-only).

    Every encoder weight must be in the file; the file may hold more (a pooler, position-id buffers)."""
    model = BertModel(BertConfig.from_folder(folder))
    state = _read_weights(folder)
    state = {k.removeprefix("bert."): v for k, v in state.items()}
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise InputError(folder, f"the weights file lacks {len(missing)} encoder weights, e.g. {missing[0]}")
    bad = [k for k in wanted if state[k].shape != wanted[k].shape]
    if bad:
        raise InputError(folder, f"weight {bad[0]} has shape {tuple(state[bad[0]].shape)}, the config gives "
                                 f"{tuple(wanted[bad[0]].shape)}")
    model.load_state_dict({k: state[k] for k in wanted})
    return model


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / "model.safetensors").is_file():
        from safetensors.torch import load_file
        return load_file(str(folder / "model.safetensors"))
    if (folder / "pytorch_model.bin").is_file():
        return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise InputError(folder, "no model.safetensors or pytorch_model.bin")
