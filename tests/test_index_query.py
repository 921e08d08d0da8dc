"""Keyword query parsing with the real MiniLM (BERT uncased) tokenizer."""
import copy

import numpy as np
import pytest
import scipy.sparse as sp

from engine.errors import MotionLexError
from engine.index import ANY_HOLDER, parse_keyword_query, parse_keywords, SparseIndex, whole_forms


@pytest.fixture(scope="module")
def tokenizer():
    from engine.models.text_encoder import resolve_text_model_path
    from engine.models.tokenizer import WordPieceTokenizer
    return WordPieceTokenizer(resolve_text_model_path())


def ids(tok, *words):
    return [tok.get_vocab()[w] for w in words]


def test_weights_and_negatives(tokenizer):
    run, jump, wave, left = ids(tokenizer, "run", "jump", "wave", "left")
    assert parse_keyword_query("run:2 jump", tokenizer) == ({run: 2.0, jump: 1.0}, set(), [])
    assert parse_keyword_query("Wave -left", tokenizer) == ({wave: 1.0}, {left}, [])
    w, _, _ = parse_keyword_query("left hand raise, run run", tokenizer)
    assert w[ids(tokenizer, "run")[0]] == 2.0 and len(w) == 4


def test_out_of_vocabulary_words_are_named_and_split_into_pieces_only_on_request(tokenizer):
    w, _, unknown = parse_keyword_query("somersault:1.5", tokenizer)    # the parser's default: pieces
    pieces = tokenizer.tokenize("somersault")
    assert len(pieces) > 1 and unknown == []                           # searched: on its pieces
    assert w == {i: 1.5 for i in ids(tokenizer, *pieces)}
    words = {i: p for p, i in tokenizer.get_vocab().items()}
    assert [words[i] for i in w] == pieces
    wave, = ids(tokenizer, "wave")
    parsed = parse_keywords("zzzqqq wave", tokenizer, pieces=False)
    assert parsed.weights == {wave: 1.0} and parsed.unknown == ["zzzqqq"] and parsed.pieces == {}
    assert parsed.whole == {"wave": wave}
    assert parse_keywords("zzzqqq wave", tokenizer).pieces == {"zzzqqq": ids(tokenizer, *tokenizer.tokenize("zzzqqq"))}
    with pytest.raises(MotionLexError, match="zzzqqq.*pieces=True"):
        parse_keyword_query("zzzqqq", tokenizer, pieces=False)
    with pytest.raises(MotionLexError, match="no searchable keyword"):   # a '##' piece is not a word to name
        parse_keyword_query("##q", tokenizer, pieces=False)


def test_with_inflections_a_whole_word_is_searched_in_its_other_forms_too(tokenizer):
    raise_, raised, raises, raising, left = ids(tokenizer, "raise", "raised", "raises", "raising", "left")
    parsed = parse_keywords("raise:2 -left", tokenizer, pieces=False, inflections=True)
    assert parsed.whole == {"raise": raise_, "left": left}
    assert parsed.inflections == {"raise": ["raised", "raises", "raising"]}
    # the four forms share the word's weight: a word counts once however many forms the vocabulary holds
    assert parsed.weights == {raise_: 0.5, raised: 0.5, raises: 0.5, raising: 0.5} and parsed.negatives == {left}
    assert parse_keywords("raise", tokenizer).weights == {raise_: 1.0}   # the default keeps a word to itself
    # a word not held whole is searched in its whole forms either way, listed as forms, not inflections
    assert parse_keywords("jog", tokenizer, pieces=False, inflections=True).inflections == {}


def test_a_word_not_whole_is_searched_in_its_whole_forms(tokenizer):
    vocab = tokenizer.get_vocab()
    assert "jog" not in vocab and "jogging" in vocab           # BERT cuts "jog" into pieces, holds "jogging" whole
    jogged, jogging, wave, left = ids(tokenizer, "jogged", "jogging", "wave", "left")
    for typed in ("jog", "jogs", "Jog:2"):
        parsed = parse_keywords(f"{typed} wave -left", tokenizer, pieces=False)
        weight = 2.0 if ":" in typed else 1.0
        assert parsed.forms == {typed.split(":")[0].lower(): ["jogged", "jogging"]}
        assert parsed.weights == {jogged: weight / 2, jogging: weight / 2, wave: 1.0} and parsed.negatives == {left}
        assert parsed.unknown == [] and parsed.pieces == {}
    assert parse_keywords("wave -jog", tokenizer).negatives == {jogged, jogging}
    assert whole_forms("dancing", vocab, set()) == ["dance", "danced", "dances"]    # the word itself left out
    assert whole_forms("zzzqqq", vocab, set()) == whole_forms("somersault", vocab, set()) == []
    assert whole_forms("jo", vocab, set()) == []                  # no ending to strip, no "jo" + ending is a word
    assert whole_forms("hops", vocab, set()) == ["hop", "hopped", "hopping"]   # not hope, hoping: hop doubles
    assert whole_forms("squatting", vocab, set()) == ["squat"]    # a doubled consonant undone


def test_errors(tokenizer):
    with pytest.raises(MotionLexError, match="no searchable keyword"):
        parse_keyword_query("-left", tokenizer)
    with pytest.raises(MotionLexError, match="no searchable keyword"):
        parse_keyword_query("   ", tokenizer)
    with pytest.raises(MotionLexError, match="not a number"):
        parse_keyword_query("run:fast", tokenizer)
    with pytest.raises(MotionLexError, match="positive"):
        parse_keyword_query("run:-1", tokenizer)
    _, _, unknown = parse_keyword_query("run \u2603", tokenizer)  # snowman maps to [UNK] only
    assert unknown == ["\u2603"]


def test_keyword_query_through_the_index_end_to_end(tokenizer):
    run, jump, left = ids(tokenizer, "run", "jump", "left")
    v = len(tokenizer.get_vocab())
    rows = [{run: 1.0}, {run: 1.0, jump: 1.0}, {run: 1.0, jump: 1.0, left: 2.0}, {jump: 0.5}]
    m = sp.lil_matrix((len(rows), v), dtype=np.float32)
    for r, terms in enumerate(rows):
        for t, w in terms.items():
            m[r, t] = w
    idx = SparseIndex.build(m.tocsr(), ["a", "b", "c", "d"])

    def search(text, **options):
        weights, negatives, _ = parse_keyword_query(text, tokenizer)
        return idx.search(weights, k=4, negatives=negatives, **options)
    hits = search("run jump")
    assert [h.id for h in hits[:2]] in (["b", "c"], ["c", "b"]) and hits[0].score == 2.0
    assert [h.id for h in search("run jump -left")] == ["b", "a", "d"]
    assert [h.id for h in search("run jump -left", salience=ANY_HOLDER)] == ["b", "a", "d"]


def test_the_vocabulary_is_read_once_per_tokenizer(tokenizer, monkeypatch):
    # get_vocab() copies all 30,522 entries (~9 ms): far more than the keyword search itself
    calls = []
    original = type(tokenizer).get_vocab
    monkeypatch.setattr(type(tokenizer), "get_vocab", lambda self: calls.append(1) or original(self))
    fresh = copy.deepcopy(tokenizer)
    for _ in range(3):
        parse_keyword_query("run jump -left", fresh)
    assert len(calls) == 1
