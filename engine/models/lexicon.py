"""The vocabulary terms a model scores: all of them ("full") or a restricted set ("restricted").

Restricted = every term id of the training texts plus its nearest neighbours in the word-embedding space
(cosine), so the MLM heads compute logits for a few thousand rows instead of 30,522 (tiny speed-up).
Everything that leaves the model (index, app) is in full vocabulary ids: `to_full` scatters back.
Labels in full ids become lexicon positions with `positions_of` (ids outside the lexicon -> ignore_index).
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn as nn


class Lexicon(nn.Module):
    def __init__(self, term_ids: torch.Tensor, vocab_size: int):
        super().__init__()
        term_ids = torch.as_tensor(term_ids, dtype=torch.long).unique(sorted=True)
        if term_ids.numel() == 0 or term_ids[0] < 0 or term_ids[-1] >= vocab_size:
            raise ValueError(f"lexicon term ids must be a non-empty subset of 0..{vocab_size - 1}")
        self.vocab_size = vocab_size
        self.register_buffer("term_ids", term_ids)  # persistent: a restricted lexicon is part of the model
        position = torch.full((vocab_size,), -1, dtype=torch.long)
        position[term_ids] = torch.arange(term_ids.numel())
        self.register_buffer("position", position, persistent=False)
        # 1 at the positions a lexical vector may weigh, 0 elsewhere (None: every term); set by the model
        # from its config (model.scored_terms), not stored: it follows from the words of term_ids.
        self.register_buffer("scored", None, persistent=False)

    def score_only(self, term_ids) -> None:
        """Let lexical vectors weigh only these vocabulary ids (the other positions stay for the decoders)."""
        keep = torch.isin(self.term_ids, torch.as_tensor(list(term_ids), dtype=torch.long, device=self.term_ids.device))
        if not bool(keep.any()):
            raise ValueError("a lexicon must score at least one term")
        self.scored = keep.to(torch.float32)

    def scored_weights(self, p: torch.Tensor) -> torch.Tensor:
        """p (..., len(self)) with the weights of unscored positions set to 0."""
        return p if self.scored is None else p * self.scored.to(p.dtype)

    @classmethod
    def full(cls, vocab_size: int) -> "Lexicon":
        return cls(torch.arange(vocab_size), vocab_size)

    @classmethod
    def from_texts(cls, texts: Iterable[str], tokenizer, embeddings: torch.Tensor, neighbours: int = 8,
                   chunk: int = 1024) -> "Lexicon":
        """Term ids of `texts` (special tokens excluded) plus each one's `neighbours` nearest words."""
        vocab_size = embeddings.shape[0]
        special = set(tokenizer.all_special_ids)
        seen: set[int] = set()
        for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
            seen.update(i for i in ids if i not in special)
        if not seen:
            raise ValueError("cannot build a restricted lexicon from texts without any words")
        terms = torch.tensor(sorted(seen), dtype=torch.long)
        chosen = [terms, torch.tensor(tokenizer.all_special_ids, dtype=torch.long)]
        if neighbours > 0:
            unit = torch.nn.functional.normalize(embeddings.detach().float(), dim=-1)
            for start in range(0, terms.numel(), chunk):   # (chunk x V) similarities at a time
                sims = unit[terms[start:start + chunk].to(unit.device)] @ unit.T
                chosen.append(sims.topk(neighbours + 1, dim=-1).indices.flatten().cpu())  # +1: itself
        return cls(torch.cat(chosen), vocab_size)

    @property
    def is_full(self) -> bool:
        return self.term_ids.numel() == self.vocab_size

    def __len__(self) -> int:
        return self.term_ids.numel()

    def head_ids(self) -> torch.Tensor | None:
        """Ids to give MLMHead (None for the full vocabulary: no index_select at all)."""
        return None if self.is_full else self.term_ids

    def to_full(self, p: torch.Tensor) -> torch.Tensor:
        """(B, len(self)) -> (B, vocab_size), zeros outside the lexicon."""
        if self.is_full:
            return p
        full = p.new_zeros(*p.shape[:-1], self.vocab_size)
        return full.index_copy(-1, self.term_ids, p)

    def from_full(self, p_full: torch.Tensor) -> torch.Tensor:
        """(B, vocab_size) -> (B, len(self)), e.g. a keyword query given in vocabulary ids."""
        return p_full if self.is_full else p_full.index_select(-1, self.term_ids)

    def positions_of(self, ids: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
        """Full vocabulary ids (labels) -> lexicon positions; ignore_index and unknown ids -> ignore_index."""
        if self.is_full:
            return ids
        keep = ids != ignore_index
        pos = self.position[ids.clamp_min(0)]
        return torch.where(keep & (pos >= 0), pos, torch.full_like(ids, ignore_index))

    def position_pairs(self, pairs: Iterable[tuple[int, int]]) -> torch.Tensor:
        """(n, 2) lexicon positions of the (a, b) vocabulary-id pairs whose two words are both in the lexicon."""
        kept = [(int(self.position[a]), int(self.position[b])) for a, b in pairs]
        kept = [(pa, pb) for pa, pb in kept if pa >= 0 and pb >= 0]
        return torch.tensor(kept, dtype=torch.long, device=self.term_ids.device).reshape(-1, 2)
