"""Caption text from decoder ids, and the lexicon positions decoding must never emit.

Shared by captioning (engine/inference/captioner.py) and caption tuning (engine/train/phases/caption.py).
"""
from __future__ import annotations

import torch


def caption_text(tok, ids: list[int]) -> str:
    """Decoded word ids as a caption: repeats dropped, capitalised, a full stop."""
    return _tidy(tok.decode(_dedupe(ids), skip_special_tokens=True))


def special_positions(model) -> torch.Tensor:
    """Lexicon positions of the special tokens (computed once per model)."""
    cached = getattr(model, "_caption_special_positions", None)
    if cached is None:
        tok = model.tokenizer
        special = torch.tensor(sorted(set(tok.all_special_ids)), device=model.device)
        cached = model.lexicon.positions_of(special)
        cached = cached[cached >= 0]
        model._caption_special_positions = cached
    return cached


def _dedupe(ids: list[int], longest: int = 4) -> list[int]:
    """Drop immediate repeats of a word or a phrase of up to `longest` words ("walks walks", "waves their
    left their left hand"), the typical failure of parallel decoding: every position is predicted at once,
    so neighbours can claim the same words."""
    out: list[int] = []
    for t in ids:
        out.append(t)
        for n in range(1, longest + 1):
            if len(out) >= 2 * n and out[-n:] == out[-2 * n:-n]:
                del out[-n:]
                break
    return out


def _tidy(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") or not text else ".")
