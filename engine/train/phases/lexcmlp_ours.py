"""Our additions to LexCMLP (not in the paper; each 0 = off, all off in the `paper` preset).

- w_distill: 1 - cos(p_m, sg(p_t)), as in LexMMM: keeps p_m on its caption's words while InfoNCE aligns;
  `distill_literal` keeps that share of the target only on the caption's own words.
- w_mirror: a mirrored motion weighs left- and right-words the other way round (mirror_consistency).
- w_words: each caption word ranks the batch's motions as its keyword query would, and each motion weighs its
  caption's words above the batch's other words (caption_word_ranking; whole words only, no stop words).
  `words_whole_forms`: a caption word the vocabulary cuts into pieces ("jogs" -> jo ##gs) counts as its whole
  forms (jogging, jogged), as the keyword query a user types reads it; otherwise it counts as no word at all.
- w_text_anchor: 1 - cos(p_t, sg(p_t^0)) against a frozen copy of the text side as the phase began
  (phases/text_anchor.py), so captions keep the words LexMLM gave them; `anchor_literal` as above.
bench/RESULTS.md measures each.
"""
from __future__ import annotations

import torch

from ...index.query import whole_forms, whole_word, word_ids
from ...skeleton import mirror_joints
from ...vocab import is_displayable_word
from ..losses import caption_word_ranking, lexical_distillation, literal_mix, mirror_consistency
from .base import motion_of

# Words that name a side; a mirrored motion should weigh each pair the other way round.
SIDE_WORD_PAIRS = (("left", "right"), ("leftward", "rightward"), ("leftwards", "rightwards"),
                   ("clockwise", "counterclockwise"))


def our_terms(phase, model, batch, ids, mask, p_m, p_t, step):
    """(weighted sum, logged parts) of the switched-on additions for one LexCMLP batch."""
    c = phase.pcfg
    loss, terms = 0.0, {}
    if c.w_distill > 0:
        distill = lexical_distillation(p_m, fewer_expansions(model, p_t, ids, mask, c.distill_literal))
        loss, terms["distill"] = loss + c.w_distill * distill, distill.detach()
    if c.w_mirror > 0:
        joints, frame_mask = motion_of(batch)
        p_mirrored, _ = model.motion_lexical(mirror_joints(joints), frame_mask)
        mirror = mirror_consistency(p_m, p_mirrored, side_pairs(model))
        loss, terms["mirror"] = loss + c.w_mirror * mirror, mirror.detach()
    if c.w_words > 0:
        columns, has_word = caption_words(model, ids, mask, c.words_whole_forms)
        idf = phase.word_idf(model)[columns] if c.words_idf else None
        words = caption_word_ranking(p_m, columns, has_word, phase.cfg.lex_temperature, idf)
        loss, terms["words"] = loss + c.w_words * words, words.detach()
    if c.w_text_anchor > 0:
        if phase.anchor is None:
            if step > 0:
                raise RuntimeError("LexCMLP's text anchor needs starting_weights() before a resumed step")
            phase.starting_weights(model)
        start = fewer_expansions(model, phase.anchor(ids, mask), ids, mask, c.anchor_literal)
        anchor = lexical_distillation(p_t, start)   # the copy lives where the model does
        loss, terms["text_anchor"] = loss + c.w_text_anchor * anchor, anchor.detach()
    return loss, terms


def fewer_expansions(model, p, ids, mask, share: float):
    return literal_mix(p, ids, word_tokens(model, ids, mask), model.lexicon.positions_of, share)


def word_tokens(model, ids, mask):
    """True at the caption's word tokens: attended and not special ([CLS], [SEP], ...)."""
    special = torch.tensor(model.tokenizer.all_special_ids, device=ids.device)
    return mask & ~torch.isin(ids, special)


def caption_words(model, ids, mask, whole_forms: bool = False):
    """(columns (W,), has_word (B, W)): the lexicon positions of the whole, non-stop words the batch's captions
    hold, and which caption holds which; with `whole_forms`, a word cut into pieces also holds its whole forms."""
    displayable = getattr(model, "_displayable_ids", None)
    if displayable is None or displayable.device != ids.device:
        words = model.tokenizer.convert_ids_to_tokens(list(range(model.vocab_size)))
        displayable = torch.tensor([is_displayable_word(w) for w in words], device=ids.device)
        model._displayable_ids = displayable
    held = torch.where(word_tokens(model, ids, mask) & displayable[ids], ids, torch.full_like(ids, -100))
    if whole_forms:
        held = torch.cat([held, pieced_word_forms(model, ids, mask, displayable)], dim=1)
    pos = model.lexicon.positions_of(held)
    columns, inverse = torch.unique(pos[pos >= 0], return_inverse=True)
    has_word = torch.zeros(ids.shape[0], len(columns), dtype=torch.bool, device=ids.device)
    rows = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(pos)[pos >= 0]
    has_word[rows, inverse] = True
    return columns, has_word


def pieced_word_forms(model, ids, mask, displayable) -> torch.Tensor:
    """(B, F) ids of the displayable whole forms of each caption's words that the tokenizer cut into pieces
    ("jo ##gs" -> jogging, jogged; query.whole_forms), padded with -100."""
    vocab, special = word_ids(model.tokenizer), set(model.tokenizer.all_special_ids)
    rows = []
    for row, keep in zip(ids.tolist(), mask.tolist()):
        words = []
        for token in model.tokenizer.convert_ids_to_tokens([i for i, k in zip(row, keep) if k and i not in special]):
            if token.startswith("##") and words:
                words[-1] += token[2:]   # a word's pieces joined again: ["jo", "##gs"] -> "jogs"
            else:
                words.append(token)
        forms = {vocab[f] for word in words if whole_word(word, vocab, special) is None
                 for f in whole_forms(word, vocab, special)}
        rows.append(sorted(i for i in forms if displayable[i]))
    width = max(1, max(map(len, rows)))
    return torch.tensor([r + [-100] * (width - len(r)) for r in rows], dtype=ids.dtype, device=ids.device)


def caption_idf(model, captions_per_clip) -> torch.Tensor:
    """(len(lexicon),) log(N / df) of each lexicon term over the training clips (a clip holds a term when any
    of its captions does; a term no clip holds gets the largest value, log N)."""
    holds = torch.zeros(model.vocab_size)
    for captions in captions_per_clip:
        ids = {i for caption in captions for i in model.tokenizer(caption, add_special_tokens=False)["input_ids"]}
        holds[list(ids)] += 1
    n = max(1, len(captions_per_clip))
    idf = torch.log(n / holds.clamp_min(1))
    return model.lexicon.from_full(idf[None])[0]


def side_pairs(model):
    """(n, 2) lexicon positions of the side-word pairs (computed once per model)."""
    cached = getattr(model, "_side_pairs", None)
    if cached is None:
        vocab = model.tokenizer.get_vocab()
        pairs = [(vocab[a], vocab[b]) for a, b in SIDE_WORD_PAIRS if a in vocab and b in vocab]
        cached = model._side_pairs = model.lexicon.position_pairs(pairs)
    return cached
