"""One search result: which document, its score, and the words (term ids) that earned it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Hit:
    id: str            # caller's id of the document (motion id, caption id, ...)
    index: int         # row of the document in the index
    score: float       # dot product between the query and the stored document vector
    terms: list[tuple[int, float]] = field(default_factory=list)  # (term_id, q_w * d_w), largest first
