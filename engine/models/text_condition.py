"""The generator's text condition, from the frozen lexical model (or a generic sentence embedding).

"lexical" (ours, the lexical seed's appendix C.2 idea): for a caption with sparse lexical vector p (Eq. 2,
scored as the model scores it: its lex_top_k heaviest terms), the condition token is p through the
lexical bottleneck, Eq. 4: E_cbow = p . W_te over the lexicon's terms, divided by the mass of p when the
model's decoders do so (model.cfg.cbow_normalise); the condition states are the text encoder's token
states with their mask. The lexical model is never trained here: everything runs under no_grad.

Word weights steer the condition word by word before the bottleneck: {word: w} sets the word's entry of
p to w times the caption's heaviest weight (so `walk:1` makes "walk" as strong as the caption's strongest
word, `walk:2` twice that), adding the word when the caption lacks it; w <= 0 (or `-walk` in the keyword
syntax of engine.index.parse_keyword_query) removes it. Words outside the model's lexicon can still be
added: the bottleneck then reads the full vocabulary's embeddings. The token states still see the caption
as written: only the sparse vector is steered.

"sentence" (the baseline C.2 compares against): one generic sentence embedding, the mean of the *base*
MiniLM's token states over real tokens (sentence-transformers' pooling, no lexical head, no training on
motion), as the single condition token with no token states (MDM conditions on one CLIP vector alike).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from ..errors import MotionLexError

WordWeights = Mapping[str, float] | str | None


def parse_word_weights(weights: WordWeights, tokenizer) -> dict[int, float]:
    """`"walk:2 -run"` or {"walk": 2, "run": 0} -> {vocabulary id: weight}, weight 0 = remove.

    A word that is not a single vocabulary entry maps to its word pieces, each with the word's weight (as
    keyword search does). Unknown words and malformed weights raise MotionLexError."""
    from ..index import parse_keyword_query

    if weights is None:
        return {}
    if isinstance(weights, str):
        items = weights.split()
        if not items:
            return {}
        positives = [w for w in items if not w.startswith("-")]
        if positives:
            ids, removed, unknown = parse_keyword_query(weights, tokenizer)
        else:   # only removals: parse the bare words for their ids
            found, _, unknown = parse_keyword_query(" ".join(w[1:] for w in items), tokenizer)
            ids, removed = {}, set(found)
        if unknown:
            raise MotionLexError(f"word weights: not in the vocabulary: {', '.join(unknown)}")
        return {**{i: float(w) for i, w in ids.items()}, **{i: 0.0 for i in removed}}
    out: dict[int, float] = {}
    for word, value in dict(weights).items():
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise MotionLexError(f"word weight of {word!r} is not a number: {value!r}") from None
        if not w == w or abs(w) == float("inf"):
            raise MotionLexError(f"word weight of {word!r} must be finite, not {value!r}")
        ids, _, unknown = parse_keyword_query(str(word), tokenizer)
        if unknown:
            raise MotionLexError(f"word weights: not in the vocabulary: {', '.join(unknown)}")
        out.update({i: max(w, 0.0) for i in ids})
    return out


def known_words(model, text: str) -> list[str]:
    """Words of `text` whose word pieces are all terms of the model's lexicon ([UNK] and specials never)."""
    tok = model.tokenizer
    special = set(tok.all_special_ids)
    lexicon = set(model.lexicon.term_ids.tolist())
    found = []
    for word in text.split():
        ids = tok(word, add_special_tokens=False)["input_ids"]
        if ids and all(i in lexicon and i not in special for i in ids):
            found.append(word)
    return found


class TextCondition:
    """captions -> {"cond_token": (B, H), "cond_states": (B, L, H) or None, "cond_mask": (B, L) or None}."""

    def __init__(self, lexical_model, mode: str = "lexical"):
        if mode not in ("lexical", "sentence"):
            raise ValueError(f"condition mode must be 'lexical' or 'sentence', not {mode!r}")
        self.model, self.mode = lexical_model, mode
        self._sentence = None

    @property
    def dim(self) -> int:
        return self.model.hidden

    @torch.no_grad()
    def __call__(self, captions: Sequence[str], word_weights: WordWeights = None) -> dict:
        if self.mode == "sentence":
            if word_weights:
                raise MotionLexError("word weights steer the lexical condition; this generator is conditioned "
                                     "on a sentence embedding")
            return self._sentence_condition(captions)
        return self._lexical_condition(captions, parse_word_weights(word_weights, self.model.tokenizer))

    def _lexical_condition(self, captions, weights: dict[int, float]) -> dict:
        from .encode import scored_lexical

        m = self.model
        ids, mask = m.tokenize(list(captions))
        p, hidden = m.text_lexical(ids, mask)
        p = scored_lexical(m, p)
        w_te = m.word_embeddings()
        if weights:   # steer in full vocabulary ids, so words outside the lexicon can be added
            p_full = m.lexicon.to_full(p).clone()
            unit = p_full.amax(-1, keepdim=True)
            unit = torch.where(unit > 0, unit, torch.ones_like(unit))
            cols = torch.tensor(list(weights), dtype=torch.long, device=p.device)
            values = torch.tensor(list(weights.values()), dtype=p.dtype, device=p.device)
            p_full[:, cols] = values[None] * unit
            token = m.text_decoder.cbow(p_full, w_te, None)
        else:
            token = m.text_decoder.cbow(p, w_te, m.lexicon.head_ids())
        return {"cond_token": token.float(), "cond_states": hidden.float(), "cond_mask": mask}

    def _sentence_condition(self, captions) -> dict:
        if self._sentence is None:
            from .text_encoder import load_text_backbone
            backbone, _ = load_text_backbone(self.model.cfg.text_model_path)
            backbone.requires_grad_(False)
            self._sentence = backbone.eval().to(self.model.device)
        ids, mask = self.model.tokenize(list(captions))
        states = self._sentence(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        w = mask[..., None].to(states.dtype)
        token = (states * w).sum(1) / w.sum(1).clamp_min(1)
        return {"cond_token": token.float(), "cond_states": None, "cond_mask": None}
