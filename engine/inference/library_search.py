"""A library's motions and captions in inverted indexes built from one checkpoint's vectors.

An index is named by a fingerprint of the library, the checkpoint weights and the top-k, so it is rebuilt
only when one of them changes. It is read from the checkpoint's own `library/<fingerprint>/` when the
checkpoint ships it (`index build --ship`: the default library of checkpoints/default, so a first search
needs no encoding), else from the cache (`$MOTIONLEX_CACHE/index/<fingerprint>/`), where it is written once
after encoding. The motion index is built when the library is first searched; the caption index (motion-
to-text, audit) only when first asked for.

Search results (search_text, search_keywords) are plain dicts:
  query, mode, query_terms: the query's displayable words and weights (engine/vocab.py);
  hits: id, score, caption, label, terms (the displayable words that earned the score: stop words, pieces
        and punctuation count in the score but are not listed);
  unknown_words: typed words that are not whole words of the vocabulary (keywords: not searched, unless
        pieces=True, which searches them on their word pieces and lists them in "pieces" instead; free text:
        the encoder reads them as word pieces; a `-word` among them excludes nothing);
  inactive_words: typed words that no motion of the library holds, or that are outside the model's lexicon
        (so no motion can hold them): they find nothing;
  message: present exactly when there are no hits, saying why: every motion that matches shows a `-word`,
        or the query's words are inactive (named, with the reason: "'swim' is not in this model's lexicon").
  side_words, and shows_side on each hit: present when the query names a side or direction word without its
        opposite (`wave left hand`, "waves with the left hand"); the hits that show every such word come first.
`-word` excludes a motion only where the word is salient: among the motion's 8 heaviest displayable words
and, for a side or direction word, heavier than its opposite (engine/index/inverted.py, Salience); or where it
is salient in one of the motion's parts together with one of the query's own words (motion_parts.py). A side word
of the query ranks first the motions where it is salient by that same rule (_sides_first).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..atomic import atomic_write_json
from ..data.cache import cache_dir
from ..errors import InputError, MotionLexError
from ..index import SALIENT_TOP, Salience, SparseIndex, parse_keywords, whole_or_forms, word_ids
from ..metrics.captioning import CiderD, tokenize_caption
from ..run_records import read_json
from ..vocab import Vocabulary
from ..models.encode import encode_motions, encode_texts
from .motion_parts import KEY as PARTS_KEY, MotionParts
from .two_part import RULE as TWO_PART_RULE, library_threshold

_NEGATIVE = re.compile(r"(?:^|\s)-(\w+)")
_TYPED = re.compile(r"[^\W\d_]+")   # the words typed in a free-text query (letters only)
CONTRAST_POOL = 200   # candidates a side-naming query rescores by the side contrast and reorders by side
TWO_PART_FILE = "two_part.json"
EXPLAIN_POOL = 4   # a hit's explanation reads this many times more terms than it shows, as some are not words


class LibrarySearch:
    def __init__(self, model, vocab: Vocabulary, dataset, checkpoint_dir: str | Path, weights_id: str,
                 top_k: int | None = None, progress=None):
        self.model, self.vocab, self.dataset = model, vocab, dataset
        self.clips = {c.id: c for c in dataset.clips}
        self.fingerprint = hashlib.sha256(f"{dataset.fingerprint()}|{weights_id}|{top_k}".encode()).hexdigest()[:20]
        self.top_k = top_k
        self.shipped = Path(checkpoint_dir) / "library" / self.fingerprint
        self.root = self.shipped if (self.shipped / "motions").is_dir() else cache_dir() / "index" / self.fingerprint
        self.caption_text: list[str] = [cap for c in dataset.clips for cap in c.captions]
        # what `-word` excludes: the word among a motion's 8 heaviest displayable words (and above its opposite)
        self.salience = Salience(SALIENT_TOP, vocab.displayable, vocab.opposite_ids(), vocab.rival_ids())
        self.lexicon = _lexicon_ids(model)   # term ids the model scores (None: the whole vocabulary)
        self.motions = _load_or_none(self.root / "motions", self.fingerprint)
        if self.motions is None:
            motions = [dataset.motion(c.id).joints for c in dataset.clips]
            vectors = encode_motions(model, motions, progress=_stage(progress, "encoding motions"))
            self.motions = SparseIndex.build(vectors, [c.id for c in dataset.clips], top_k)
            self.motions.save(self.root / "motions", self.fingerprint)
        self._parts: MotionParts | None = None
        self._captions: SparseIndex | None = None
        self._matrix = None   # the stored motion vectors by term (CSC), for side-contrast rescoring

    def caption_index(self, progress=None) -> SparseIndex:
        """The caption index (motion-to-text, audit), built on first use."""
        if self._captions is None:
            self._captions = _load_or_none(self.root / "captions", self.fingerprint)
        if self._captions is None:
            caption_ids = [f"{c.id}#{i}" for c in self.dataset.clips for i in range(len(c.captions))]
            vectors = encode_texts(self.model, self.caption_text, progress=_stage(progress, "encoding captions"))
            self._captions = SparseIndex.build(vectors, caption_ids, self.top_k)
            self._captions.save(self.root / "captions", self.fingerprint)
        return self._captions

    def part_index(self, progress=None) -> MotionParts:
        """The motions' parts (motion_parts.py), encoded on the first query with a `-word` and kept beside the
        index (the shipped default library carries them). The service's lock is held meanwhile: other requests
        wait for that one encoding (14 s for 2,000 clips on 2 threads: bench/RESULTS.md, bench_serving)."""
        if self._parts is None:
            index = _load_or_none(self.root / "parts", self._parts_fingerprint())
            self._parts = None if index is None else MotionParts(index)
        if self._parts is None:
            motions = [self.dataset.motion(c.id).joints for c in self.dataset.clips]
            self._parts = MotionParts.build(self.model, motions, self.top_k,
                                            progress=_stage(progress, "encoding motion parts"))
            try:
                self._parts.save(self.root / "parts", self._parts_fingerprint())
            except OSError:   # a read-only checkpoint folder: kept in memory, encoded again at the next start
                pass
        return self._parts

    def _parts_fingerprint(self) -> str:
        return f"{self.fingerprint}-{PARTS_KEY}"

    def two_part_threshold(self) -> float | None:
        """The cut dissimilarity above which a motion is captioned in two parts, learnt from this library's
        captions (inference/two_part.py), computed once and kept beside the index."""
        if not hasattr(self, "_two_part"):
            path = self.root / TWO_PART_FILE
            saved = read_json(path)
            saved = saved if isinstance(saved, dict) else {}
            if saved.get("fingerprint") == self.fingerprint and saved.get("rule") == TWO_PART_RULE:
                self._two_part = saved["threshold"]
            else:
                self._two_part = library_threshold(self.model, self.dataset)
                try:
                    atomic_write_json(path, {"fingerprint": self.fingerprint, "rule": TWO_PART_RULE,
                                             "threshold": self._two_part})
                except OSError:   # a read-only checkpoint folder: recomputed at the next start
                    pass
        return self._two_part

    def ship(self, progress=None) -> Path:
        """Save the indexes (motions, their parts, captions) and the two-part threshold into the checkpoint's own
        library/ folder (what `index build --ship` does)."""
        self.caption_index(progress).save(self.shipped / "captions", self.fingerprint)
        self.motions.save(self.shipped / "motions", self.fingerprint)
        self.part_index(progress).save(self.shipped / "parts", self._parts_fingerprint())
        atomic_write_json(self.shipped / TWO_PART_FILE, {"fingerprint": self.fingerprint, "rule": TWO_PART_RULE,
                                                         "threshold": self.two_part_threshold()})
        return self.shipped

    # ---------------------------------------------------------------- queries
    def search_text(self, query: str, k: int = 10, query_top_k: int | None = None, explain: int = 5,
                    progress=None) -> dict:
        """Free text through the text encoder; `-word` in the query excludes the motions where that word is
        salient (module doc)."""
        negative_words = [w.lower() for w in _NEGATIVE.findall(query)]
        text = _NEGATIVE.sub(" ", query).strip()
        if not text:
            raise MotionLexError(f"the query {query!r} has no words to search for")
        typed = list(dict.fromkeys(w.lower() for w in _TYPED.findall(text)))
        excluded = {w: self._terms_of_word(w) for w in negative_words}
        negatives = {t for terms in excluded.values() for t in terms}
        unknown = [w for w in dict.fromkeys(typed + negative_words) if self.vocab.whole_word_id(w) is None
                   and not excluded.get(w)]
        shown = [w for w in dict.fromkeys(typed + negative_words)
                 if self.vocab.whole_word_id(w) is not None and self.vocab.is_displayable(w)]
        inactive = [w for w in shown if self._inactive(self.vocab.whole_word_id(w))]
        vector = encode_texts(self.model, [text])
        if vector.nnz == 0:
            raise MotionLexError(f"the query {query!r} activates no vocabulary term in this model")
        sides = self._named_sides({self.vocab.whole_word_id(w) for w in typed} - {None})
        positives = [t for w in typed if negatives and w not in excluded and self.vocab.is_displayable(w)
                     for t in self._terms_of_word(w)]   # what a part must show beside a `-word` (none: not needed)
        hits = self.motions.search(vector, k=max(k, CONTRAST_POOL) if sides else k, query_top_k=query_top_k,
                                   negatives=negatives, explain=explain * EXPLAIN_POOL, salience=self.salience,
                                   excluded_documents=self._shown_in_parts(negatives, positives, progress))
        hits, shown = self._sides_first(hits, sides, k)
        result = {"query": query, "mode": "text", "query_terms": self._terms_of(vector.toarray()[0], 10),
                  "unknown_words": unknown, "inactive_words": inactive,
                  "hits": [self._motion_hit(h, explain, shown) for h in hits]}
        if sides:
            result["side_words"] = [self.vocab.word(t) for t in sides]
        if not hits:
            self._explain_empty(result, vector, negatives, query_top_k, inactive)
        return result

    def search_keywords(self, query: str, k: int = 10, explain: int = 5, pieces: bool = False,
                        progress=None) -> dict:
        """The seed's non-parametric query: listed words set to 1 (or word:weight), no text encoder.

        A whole word is searched with its other whole forms ("raise" -> raised, raises, raising, listed in
        "inflections"); a word that is not a whole word of the vocabulary on its whole forms ("jog" -> jogging,
        listed in "forms"), else reported in unknown_words and not searched, or with pieces=True searched on its
        word pieces and listed in "pieces"; `-word` excludes the motions where the word is salient (module doc)."""
        parsed = parse_keywords(query, self.model.tokenizer, pieces=pieces, inflections=True)
        inactive = [w for w, t in parsed.whole.items()
                    if all(self._inactive(self.vocab.id(f)) for f in [w, *parsed.inflections.get(w, [])])]
        inactive += [w for w, forms in parsed.forms.items() if all(self._inactive(self.vocab.id(f)) for f in forms)]
        inactive += [w for w, ids in parsed.pieces.items() if all(self._inactive(t) for t in ids)]
        sides = self._named_sides({t for t, w in parsed.weights.items() if w > 0})
        positives = [t for t, w in parsed.weights.items() if w > 0]
        hits = self.motions.search(parsed.weights, k=max(k, CONTRAST_POOL) if sides else k,
                                   negatives=parsed.negatives, explain=explain * EXPLAIN_POOL, salience=self.salience,
                                   excluded_documents=self._shown_in_parts(parsed.negatives, positives, progress))
        if sides:
            hits = self._contrasted(hits, {self.salience.opposites[t]: parsed.weights[t] for t in sides})
        hits, shown = self._sides_first(hits, sides, k)
        terms = sorted(parsed.weights.items(), key=lambda x: -x[1])
        result = {"query": query, "mode": "keywords", "query_terms": self.vocab.display_terms(terms),
                  "unknown_words": parsed.unknown, "inactive_words": inactive,
                  "hits": [self._motion_hit(h, explain, shown) for h in hits]}
        if sides:
            result["side_words"] = [self.vocab.word(t) for t in sides]
        if parsed.forms:
            result["forms"] = parsed.forms
        if parsed.inflections:
            result["inflections"] = parsed.inflections
        if pieces and parsed.pieces:
            result["pieces"] = {w: [self.vocab.word(t) for t in ids] for w, ids in parsed.pieces.items()}
        if not hits:
            self._explain_empty(result, parsed.weights, parsed.negatives, None, inactive)
        return result

    def _shown_in_parts(self, negatives, positives, progress=None) -> np.ndarray:
        """The motions a `-word` also excludes: a part of theirs shows the word with one of the query's own words
        (motion_parts.py); none without a `-word`."""
        if not negatives:
            return np.zeros(0, dtype=np.int64)
        return self.part_index(progress).excluded(sorted(negatives), positives, self.salience)

    def _terms_of_word(self, word: str) -> list[int]:
        """The terms a free-text `-word` excludes: the word and its other whole forms ("-wave": waves, waving), or
        only its whole forms when it is not whole ("-jog": jogged, jogging), as a keyword `-word` does."""
        tokenizer = self.model.tokenizer
        vocab = word_ids(tokenizer)
        return [vocab[w] for w in whole_or_forms(word, vocab, set(tokenizer.all_special_ids), inflections=True)]

    def _named_sides(self, terms: set[int]) -> list[int]:
        """The side or direction words a query names without their opposite ("left" in `wave left hand`; neither
        "up" nor "down" in `sit down stand up`), in id order."""
        opposites = self.salience.opposites
        return sorted(t for t in terms if t in opposites and opposites[t] not in terms)

    def _sides_first(self, hits: list, sides: list[int], k: int) -> tuple[list, set[int] | None]:
        """The first k hits, those that show every side word the query names first (each group in score order),
        and the documents that show them (None: the query names no side).

        "Shows" is the rule `-word` excludes by (Salience: the word outweighs its opposite and its rivals, within
        the motion's 24 heaviest words). A query naming a side asks for that side, and which side a motion shows
        is told by that pair, not by the score: a left raise may outscore a right raise on `raise right arm`
        through heavier "raise" and "arm" (bench/RESULTS.md, "Side words rank first")."""
        if not sides:
            return hits[:k], None
        shown = set.intersection(*(set(self.motions.salient_documents(t, self.salience).tolist()) for t in sides))
        return sorted(hits, key=lambda h: h.index not in shown)[:k], shown

    def _contrasted(self, hits: list, contrast: dict[int, float]) -> list:
        """Rescore hits by the side contrast: score - sum_w q_w * d[opposite of w]. The model tells a left wave
        from a right one by which of the two side words is heavier, not by the weight of "left" alone (a right
        wave may weigh "left" more than a left wave does, and "right" more still), so a query naming one side
        ranks by the difference, as `-word` salience does (module doc)."""
        if self._matrix is None:
            self._matrix = self.motions.matrix().tocsc()
        columns = self._matrix[:, list(contrast)].toarray() @ np.array(list(contrast.values()), dtype=np.float32)
        rescored = [replace(h, score=float(h.score - columns[h.index])) for h in hits]
        return sorted(rescored, key=lambda h: -h.score)

    def _inactive(self, term: int) -> bool:
        """No motion of the library holds the term (or the model cannot score it at all)."""
        return self.motions.holders(term) == 0 or (self.lexicon is not None and term not in self.lexicon)

    def _inactive_reason(self, word: str) -> str:
        term = self.vocab.whole_word_id(word)
        if term is not None and self.lexicon is not None and term not in self.lexicon:
            return f"'{word}' is not in this model's lexicon (the {len(self.lexicon)} terms it scores)"
        return f"no motion of this library activates '{word}'"

    def _explain_empty(self, result: dict, query, negatives: set[int], query_top_k, inactive: list[str]) -> None:
        """No hits: say why in result["message"] (the `-words` left nothing, or the query's words are inactive).
        An empty result is an answer, not an error: front ends show the message."""
        if negatives and self.motions.search(query, k=1, query_top_k=query_top_k, explain=0):
            names = [f"'{self.vocab.word(t)}'" for t in sorted(negatives)]
            shown = names[0] if len(names) == 1 else "one of " + ", ".join(names)
            word = self.vocab.word
            opposite = "".join(f", with '{word(t)}' heavier than '{word(self.salience.opposites[t])}'"
                               for t in sorted(negatives) if t in self.salience.opposites)
            result["message"] = (f"every motion that matches also has {shown} among its salient words (its "
                                 f"{SALIENT_TOP} heaviest words{opposite}, or in one of its parts with a word "
                                 f"of the query), so none is left")
            return
        if inactive:
            result["message"] = "nothing found: " + "; ".join(self._inactive_reason(w) for w in inactive)
            return
        result["message"] = "no motion of this library shares a term with the query"

    def motion_to_text(self, vector: np.ndarray, k: int = 5) -> list[dict]:
        """Nearest captions of the library for a motion's full-vocabulary lexical vector (the caption index, m2t)."""
        hits = self.caption_index().search(sp.csr_matrix(vector[None]), k=k, explain=5 * EXPLAIN_POOL)
        return [{"caption": self.caption_text[h.index], "clip": h.id.split("#")[0], "score": round(h.score, 4),
                 "terms": self._words(h.terms, 5)} for h in hits]

    def caption_statistics(self) -> CiderD:
        """CIDEr-D document frequencies of the library's captions (built once per library)."""
        if getattr(self, "_cider", None) is None:
            self._cider = CiderD([[tokenize_caption(t) for t in c.captions] for c in self.dataset.clips if c.captions])
        return self._cider

    # ---------------------------------------------------------------- helpers
    def _motion_hit(self, hit, explain: int = 5, shown: set[int] | None = None) -> dict:
        clip = self.clips[hit.id]
        out = {"id": hit.id, "score": round(float(hit.score), 4), "caption": clip.captions[0] if clip.captions else "",
               "label": clip.label, "terms": self._words(hit.terms, explain)}
        if shown is not None:
            out["shows_side"] = hit.index in shown
        return out

    def _words(self, terms, k: int | None = None) -> list[tuple[str, float]]:
        """The displayable words of (term id, contribution) pairs, at most k (the score counts them all)."""
        return [(w, round(c, 4)) for w, c in self.vocab.display_terms(terms, k)]

    def _terms_of(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        return [(w, round(s, 4)) for w, s in self.vocab.top_terms(vector, k)]


def _lexicon_ids(model) -> frozenset[int] | None:
    """The vocabulary ids the model's lexical vectors may weigh (None: every vocabulary id): its restricted
    lexicon's terms, less the ones its config does not score (model.scored_terms)."""
    lexicon = getattr(model, "lexicon", None)
    scored = getattr(lexicon, "scored", None)
    if lexicon is None or (getattr(lexicon, "is_full", True) and scored is None):
        return None
    ids = lexicon.term_ids if scored is None else lexicon.term_ids[scored > 0]
    return frozenset(int(t) for t in ids.cpu().tolist())


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

