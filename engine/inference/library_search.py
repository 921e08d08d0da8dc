"""A library's motions and captions in inverted indexes built from one checkpoint's vectors.

Saved beside the checkpoint (<checkpoint>/index/<library hash>/) with a fingerprint of the library,
the checkpoint weights and the top-k, so it is rebuilt only when one of them changes.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import InputError, MotionLexError
from ..index import SparseIndex, parse_keyword_query
from ..metrics.captioning import CiderD, tokenize_caption
from ..vocab import Vocabulary
from ..models.encode import encode_motions, encode_texts

_NEGATIVE = re.compile(r"(?:^|\s)-(\w+)")


class LibrarySearch:
    def __init__(self, model, vocab: Vocabulary, dataset, checkpoint_dir: str | Path, weights_id: str,
                 top_k: int | None = None, progress=None):
        self.model, self.vocab, self.dataset = model, vocab, dataset
        self.clips = {c.id: c for c in dataset.clips}
        fingerprint = hashlib.sha256(f"{dataset.fingerprint()}|{weights_id}|{top_k}".encode()).hexdigest()[:20]
        root = Path(checkpoint_dir) / "index" / fingerprint
        self.motions = _load_or_none(root / "motions", fingerprint)
        self.captions = _load_or_none(root / "captions", fingerprint)
        self.caption_text: list[str] = [cap for c in dataset.clips for cap in c.captions]
        if self.motions is None or self.captions is None:
            self._build(root, fingerprint, top_k, progress)

    def _build(self, root: Path, fingerprint: str, top_k: int | None, progress) -> None:
        clips = self.dataset.clips
        motions = [self.dataset.motion(c.id).joints for c in clips]
        vectors = encode_motions(self.model, motions, progress=_stage(progress, "encoding motions"))
        self.motions = SparseIndex.build(vectors, [c.id for c in clips], top_k)
        caption_ids = [f"{c.id}#{i}" for c in clips for i in range(len(c.captions))]
        caption_vectors = encode_texts(self.model, self.caption_text, progress=_stage(progress, "encoding captions"))
        self.captions = SparseIndex.build(caption_vectors, caption_ids, top_k)
        self.motions.save(root / "motions", fingerprint)
        self.captions.save(root / "captions", fingerprint)

    # ---------------------------------------------------------------- queries
    def search_text(self, query: str, k: int = 10, query_top_k: int | None = None, explain: int = 5) -> dict:
        """Free text through the text encoder; `-word` in the query excludes motions holding that word."""
        negatives = {self.vocab.id(w) for w in _NEGATIVE.findall(query)} - {None}
        text = _NEGATIVE.sub(" ", query).strip()
        if not text:
            raise MotionLexError(f"the query {query!r} has no words to search for")
        vector = encode_texts(self.model, [text])
        if vector.nnz == 0:
            raise MotionLexError(f"the query {query!r} activates no vocabulary term in this model")
        hits = self.motions.search(vector, k=k, query_top_k=query_top_k, negatives=negatives, explain=explain)
        return {"query": query, "mode": "text", "query_terms": self._terms_of(vector.toarray()[0], 10),
                "hits": [self._motion_hit(h) for h in hits]}

    def search_keywords(self, query: str, k: int = 10, explain: int = 5) -> dict:
        """The seed's non-parametric query: listed words set to 1 (or word:weight), no text encoder."""
        weights, negatives, unknown = parse_keyword_query(query, self.model.tokenizer)
        hits = self.motions.search(weights, k=k, negatives=negatives, explain=explain)
        terms = sorted(((self.vocab.word(t), w) for t, w in weights.items()), key=lambda x: -x[1])
        return {"query": query, "mode": "keywords", "query_terms": terms, "unknown_words": unknown,
                "hits": [self._motion_hit(h) for h in hits]}

    def motion_to_text(self, vector: np.ndarray, k: int = 5) -> list[dict]:
        """Nearest captions of the library for a motion's full-vocabulary lexical vector (the caption index, m2t)."""
        hits = self.captions.search(sp.csr_matrix(vector[None]), k=k)
        return [{"caption": self.caption_text[h.index], "clip": h.id.split("#")[0], "score": round(h.score, 4),
                 "terms": self._words(h.terms)} for h in hits]

    def caption_statistics(self) -> CiderD:
        """CIDEr-D document frequencies of the library's captions (built once per library)."""
        if getattr(self, "_cider", None) is None:
            self._cider = CiderD([[tokenize_caption(t) for t in c.captions] for c in self.dataset.clips if c.captions])
        return self._cider

    # ---------------------------------------------------------------- helpers
    def _motion_hit(self, hit) -> dict:
        clip = self.clips[hit.id]
        return {"id": hit.id, "score": round(float(hit.score), 4), "caption": clip.captions[0] if clip.captions else "",
                "label": clip.label, "terms": self._words(hit.terms)}

    def _words(self, terms) -> list[tuple[str, float]]:
        return [(self.vocab.word(int(t)), round(float(c), 4)) for t, c in terms]

    def _terms_of(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        return [(w, round(s, 4)) for w, s in self.vocab.top_terms(vector, k, skip_stopwords=False)]


def _load_or_none(directory: Path, fingerprint: str) -> SparseIndex | None:
    """A saved index, or None (rebuild) when it is absent, stale, or corrupt (e.g. a killed write)."""
    try:
        return SparseIndex.load(directory, fingerprint)
    except InputError:
        return None


def _stage(progress, name: str):
    if progress is None:
        return None
    return lambda done, total: progress(done, total, name)


def nearest_captions(search: LibrarySearch, vector: np.ndarray, k: int,
                     exclude: str | None = None) -> tuple[dict | None, list[list[str]]]:
    """For a motion's full-vocabulary lexical vector: (the nearest-neighbour captioning baseline, i.e. the
    caption of the closest library motion; the captions of each of the k closest library motions, closest
    first).
    `exclude`: a library clip id left out (the motion itself, when it is a library clip)."""
    hits = search.motions.search(sp.csr_matrix(vector[None]), k=k + (exclude is not None))
    hits = [h for h in hits if h.id != exclude][:k]
    if not hits:
        return None, []
    clip = search.clips[hits[0].id]
    baseline = {"caption": clip.captions[0] if clip.captions else "", "clip": clip.id,
                "score": round(hits[0].score, 4)}
    return baseline, [list(search.clips[h.id].captions) for h in hits]
