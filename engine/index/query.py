"""Keyword queries without a text encoder (Lyu et al. 2025, appendix: "the weight of the keyword is
directly set to 1"): `run:2 jump -left` -> {run: 2, jump: 1}, negatives {left}.

Syntax, whitespace separated: `word` (weight 1), `word:W` (weight W > 0), `-word` (exclude the documents
where the word is salient: engine/index/inverted.py, Salience). Repeated words add up. A term that is both
positive and negative is treated as negative.

With inflections=True (the search engine's keyword queries) a whole word is searched in its other whole forms
too, its forms sharing the word's weight (`raise` -> raise, raised, raises, raising at 1/4 each;
KeywordQuery.inflections), as a search engine stems: captions say "raises", "waving", and a model that learned
their words weighs those forms, not always the base form a user types. The default (False) keeps a word to
itself: the word weights of generation (engine/models/text_condition.py) and the label queries of
engine/evaluation/keywords.py.

A word that is not a whole entry of the vocabulary ('##' pieces and special tokens are not whole entries) is
searched on its other forms that are (`jog` -> jogging, `jogs` -> jogging: whole_forms, the forms sharing the
word's weight), listed in KeywordQuery.forms: BERT holds "jogging" whole but cuts "jog" into jo ##g, and a
words-only model scores no piece at all. A word with no whole form (`zzzqqq`, `somersault`) is searched on
the word pieces the tokenizer cuts it into (`somersault` -> some ##rsa ##ult, each piece taking the word's
weight) only with pieces=True, and is then listed in KeywordQuery.pieces; with pieces=False it is not
searched at all (a typo then reads as a typo, not as fragments). The unknown words are those that map to no
term: with pieces=False every word with no whole form, with pieces=True the ones without a searchable piece
([UNK] only, e.g. a snowman).
The default here is pieces=True, as the tokenizer does: label queries of the keyword evaluation
(engine/evaluation/keywords.py, `squat`) and word weights of generation (engine/models/text_condition.py)
rely on it; the search engine asks for pieces=False unless the user asks for pieces.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

from engine.errors import MotionLexError

_WORD = re.compile(r"^(-?)([^:]+?)(?::([^:]*))?$")
_EDGE_PUNCT = ",.;!?\"'()[]{}"
_MIN_STEM = 3     # shorter stems ("jo" of "jogs") name other words


_VOCABS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def word_ids(tokenizer) -> dict[str, int]:
    """The tokenizer's word -> id map, built once per tokenizer (get_vocab() copies 30,522 entries: ~9 ms,
    more than the search a keyword query then runs)."""
    vocab = _VOCABS.get(tokenizer)
    if vocab is None:
        vocab = _VOCABS[tokenizer] = tokenizer.get_vocab()
    return vocab


def whole_word(word: str, vocab: dict[str, int], special: set[int]) -> int | None:
    """The id of `word` when it is a whole entry of the vocabulary (not a '##' piece, not a special token)."""
    term = vocab.get(word)
    return term if term is not None and term not in special and not word.startswith("##") else None


def word_pieces(word: str, tokenizer, vocab: dict[str, int], special: set[int]) -> list[int]:
    """The ids of the pieces the tokenizer cuts `word` into ([UNK] & co. are not searchable words)."""
    ids = [vocab[p] for p in tokenizer.tokenize(word) if p in vocab]
    return [i for i in ids if i not in special]


def whole_forms(word: str, vocab: dict[str, int], special: set[int]) -> list[str]:
    """The whole entries of the vocabulary among a word's regular inflections, the word itself excluded: its
    stems (_stems: "jogs" -> jog, "hopping" -> hop, "crouches" -> crouch) and each stem's third person, -ing
    and -ed forms (_inflections: "jog" -> jogs, jogging, jogged). English spelling is guessed, not known, so a
    form that is no word ("squating") is simply not in the vocabulary."""
    forms = {form for stem in _stems(word) for form in (stem, *_inflections(stem))}
    return sorted(f for f in forms if f != word and whole_word(f, vocab, special) is not None)


_VOWELS = "aeiou"
_SIBILANT = ("s", "sh", "ch", "x", "z")


def _stems(word: str) -> set[str]:
    """The word and what it may be an inflection of: less -s / -es (after a sibilant) / -ies (-> y), less -ing
    or -ed with the stem as left, with its e back or its doubled consonant undone."""
    stems = {word}
    if word.endswith("ies"):
        stems.add(word[:-3] + "y")
    elif word.endswith("es") and word[:-2].endswith(_SIBILANT):
        stems.add(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        stems.add(word[:-1])
    for ending in ("ing", "ed"):
        base = word[:-len(ending)]
        if word.endswith(ending) and len(base) >= _MIN_STEM:
            stems.update({base, base + "e"})
            if base[-1] == base[-2]:
                stems.add(base[:-1])
    return {s for s in stems if len(s) >= _MIN_STEM}


def _inflections(stem: str) -> tuple[str, str, str]:
    """(third person, -ing, -ed) by the regular rules: "jog" -> jogs, jogging, jogged (one syllable ending
    consonant-vowel-consonant doubles), "dance" -> dances, dancing, danced, "carry" -> carries, carrying, carried."""
    if stem.endswith("y") and stem[-2] not in _VOWELS:
        return stem[:-1] + "ies", stem + "ing", stem[:-1] + "ied"
    if stem.endswith("e") and not stem.endswith("ee"):
        return stem + "s", stem[:-1] + "ing", stem + "d"
    third = stem + ("es" if stem.endswith(_SIBILANT) else "s")
    syllables = len(re.findall(f"[{_VOWELS}]+", stem))
    doubles = (syllables == 1 and stem[-1] not in _VOWELS + "wxy" and stem[-2] in _VOWELS
               and stem[-3] not in _VOWELS)
    end = stem + stem[-1] if doubles else stem
    return third, end + "ing", end + "ed"


def whole_or_forms(word: str, vocab: dict[str, int], special: set[int], inflections: bool = False) -> list[str]:
    """What a typed word is searched as before any word piece: [word] when the vocabulary holds it whole (with
    inflections=True followed by its other whole forms), else its whole forms (whole_forms; [] when it has none)."""
    if whole_word(word, vocab, special) is None:
        return whole_forms(word, vocab, special)
    return [word] + (whole_forms(word, vocab, special) if inflections else [])


@dataclass
class KeywordQuery:
    """A parsed keyword query. whole: each typed whole word -> its term id (positive and negative words);
    forms: each typed word that is not whole -> the whole forms searched instead (whole_forms); pieces: each
    word with no whole form searched on its pieces -> their term ids (pieces=True only); inflections: each typed
    whole word -> its other whole forms searched with it (inflections=True only)."""
    weights: dict[int, float] = field(default_factory=dict)
    negatives: set[int] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    whole: dict[str, int] = field(default_factory=dict)
    forms: dict[str, list[str]] = field(default_factory=dict)
    pieces: dict[str, list[int]] = field(default_factory=dict)
    inflections: dict[str, list[str]] = field(default_factory=dict)


def parse_keyword_query(text: str, tokenizer, pieces: bool = True) -> tuple[dict[int, float], set[int], list[str]]:
    """Parse a keyword query into (term weights, negative term ids, words that map to no term).

    pieces: also search an unknown word's word pieces (module doc). Raises MotionLexError for a malformed
    weight or when no positive keyword is left to search, naming the unknown words.
    """
    parsed = parse_keywords(text, tokenizer, pieces)
    return parsed.weights, parsed.negatives, parsed.unknown


def parse_keywords(text: str, tokenizer, pieces: bool = True, inflections: bool = False) -> KeywordQuery:
    """parse_keyword_query with the word each term came from (KeywordQuery); inflections: a whole word is
    searched in its other whole forms too (module doc)."""
    vocab = word_ids(tokenizer)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    parsed = KeywordQuery()
    weights, negatives, unknown = parsed.weights, parsed.negatives, parsed.unknown
    for raw in text.split():
        m = _WORD.match(raw)
        if not m:
            raise MotionLexError(f"cannot read keyword {raw!r}: use word, word:2 or -word")
        neg, word, weight = m.group(1), m.group(2).strip(_EDGE_PUNCT).lower(), m.group(3)
        if not word:
            continue
        if weight is None:
            w = 1.0
        else:
            try:
                w = float(weight)
            except ValueError:
                raise MotionLexError(f"keyword {raw!r}: weight {weight!r} is not a number") from None
            if not (w > 0 and w < float("inf")):
                raise MotionLexError(f"keyword {raw!r}: weight must be a positive number")
        names = whole_or_forms(word, vocab, special, inflections)
        ids = [vocab[f] for f in names]
        if names[:1] == [word]:
            parsed.whole[word] = vocab[word]
            if names[1:]:
                parsed.inflections[word] = names[1:]
        elif names:
            parsed.forms[word] = names
        else:
            ids = word_pieces(word, tokenizer, vocab, special) if pieces else []
            if ids:
                parsed.pieces[word] = ids
        if not ids:
            if word not in unknown:
                unknown.append(word)
            continue
        # a word's forms share its weight (it counts once, however many forms the vocabulary has); pieces do not
        share = len(ids) if word in parsed.forms or word in parsed.inflections else 1
        if neg:
            negatives.update(ids)
        else:
            for i in ids:
                weights[i] = weights.get(i, 0.0) + w / share
    for i in negatives:
        weights.pop(i, None)
    if not weights:
        detail = ""
        if unknown:
            detail = f" (not words of the vocabulary: {', '.join(unknown)}"
            detail += ")" if pieces else "; word pieces are searched only on request: pieces=True, --pieces)"
        raise MotionLexError(f"the query {text!r} has no searchable keyword{detail}; "
                             "write words such as 'run jump' or 'wave -left'")
    return parsed
