"""Dataset auditing: which words a dataset over- or under-uses, and captions that disagree with motion.

Works on arrays the model produced (motion and caption lexical vectors, full vocabulary) and on the
caption text itself, so that it can audit any dataset a checkpoint can encode.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..explain import disagreement
from ..vocab import Vocabulary

SUBJECT_FORMS = {
    "a person": r"^(a|the) (person|human|figure|subject)\b",
    "someone": r"^some(one|body)\b",
    "a man / the man": r"^(a|the) (man|guy|male)\b",
    "a woman / the woman": r"^(a|the) (woman|lady|female|girl)\b",
    "pronoun": r"^(he|she|they)\b",
}


def caption_style(captions: list[str]) -> dict:
    """Counts of subject forms, bare-verb captions, capitalisation and final punctuation."""
    forms = Counter()
    for caption in captions:
        text = caption.strip().lower()
        form = next((name for name, pat in SUBJECT_FORMS.items() if re.match(pat, text)), None)
        forms[form or "bare verb / other"] += 1
    n = max(len(captions), 1)
    capitalised = sum(c[:1].isupper() for c in captions)
    period = sum(c.rstrip().endswith(".") for c in captions)
    dominant = forms.most_common(1)[0][0] if forms else None
    return {
        "subject_forms": dict(forms.most_common()),
        "dominant_form": dominant,
        "inconsistent_share": round(100.0 * (1 - forms[dominant] / n), 2) if dominant else 0.0,
        "capitalised_share": round(100.0 * capitalised / n, 2),
        "ends_with_period_share": round(100.0 * period / n, 2),
    }


def important_terms(vectors: np.ndarray, vocab: Vocabulary, per_item: int = 5, top: int = 30) -> list:
    """How often each word is among an item's `per_item` heaviest displayable words (the seed's Fig. 5b).

    Words as Vocabulary.displayable has them: special tokens, punctuation, '##' pieces and stop words
    ("a", "the", "person", ...) are skipped, so an item's top words are the next heaviest real words."""
    counts = Counter()
    for vec in vectors:
        counts.update(w for w, _ in vocab.top_terms(vec, per_item))
    n = max(len(vectors), 1)
    return [[w, round(100.0 * c / n, 2)] for w, c in counts.most_common(top)]


def usage_gaps(caption_terms: list, motion_terms: list, top: int = 10) -> dict:
    """Words captions weigh much more (over-used) or much less (under-used) than motions show."""
    cap, mot = dict(caption_terms), dict(motion_terms)
    words = set(cap) | set(mot)
    gap = sorted(((cap.get(w, 0.0) - mot.get(w, 0.0), w) for w in words), reverse=True)
    return {"over_used_by_captions": [[w, round(g, 2)] for g, w in gap[:top] if g > 0],
            "under_used_by_captions": [[w, round(-g, 2)] for g, w in gap[::-1][:top] if g < 0]}


def side_balance(captions: list[str], motion_vectors: np.ndarray, vocab: Vocabulary) -> dict:
    """Left vs right in what captions say and in what motions activate."""
    said = Counter()
    for caption in captions:
        words = set(re.findall(r"[a-z]+", caption.lower()))
        said.update(w for w in ("left", "right", "both") if w in words)
    left, right = vocab.id("left"), vocab.id("right")
    m_left = int((motion_vectors[:, left] > motion_vectors[:, right]).sum())
    m_right = int((motion_vectors[:, right] > motion_vectors[:, left]).sum())
    return {"captions": dict(said), "motions_left_over_right": m_left, "motions_right_over_left": m_right}


def audit(ids: list[str], captions: list[str], motion_vectors: np.ndarray, caption_vectors: np.ndarray,
          vocab: Vocabulary, base_caption_vectors: np.ndarray | None = None, worst: int = 20) -> dict:
    """The whole audit; one caption per clip (its first), vectors in full vocabulary ids."""
    caption_terms = important_terms(caption_vectors, vocab)
    motion_terms = important_terms(motion_vectors, vocab)
    ranked = sorted(
        ({"id": i, "caption": c, **disagreement(m, t, c, vocab)}
         for i, c, m, t in zip(ids, captions, motion_vectors, caption_vectors)),
        key=lambda row: -row["score"],
    )
    report = {
        "clips": len(ids),
        "caption_terms": caption_terms,
        "motion_terms": motion_terms,
        "usage": usage_gaps(caption_terms, motion_terms),
        "sides": side_balance(captions, motion_vectors, vocab),
        "caption_style": caption_style(captions),
        "disagreements": ranked[:worst],
    }
    if base_caption_vectors is not None:
        report["base_encoder_caption_terms"] = important_terms(base_caption_vectors, vocab)
    return report
