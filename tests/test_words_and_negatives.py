"""What users see on the shipped model: `-word` means "not", displayed terms are words, unknown and inactive
words are named, the CLI prints labels as text.

Runs on the shipped checkpoint (checkpoints/default) and the default procedural library (2,000 clips; the
first search encodes it once and caches the index beside the checkpoint), except the audit, which runs on
the tiny test checkpoint's 60 clips.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import MotionLexError
from engine.facade import Engine
from engine.vocab import STOPWORDS, Vocabulary, is_displayable_word
from tests.test_train_helpers import DATA

ROOT = Path(__file__).resolve().parents[1]
SPECIAL = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"}

# Each query keeps hits and keeps the excluded side out of its top 5 on the shipped model (the previous model
# failed three of them: its left kicks carried less "left" than its right kicks, and "left" ranked below the
# 8th word of Bandai's left waves; issue 15's notes).
NEGATIVE_QUERIES = [
    ("wave -left", True, "left"),
    ("raise -right", True, "right"),
    ("kick -left", True, "left"),
    ("a person waves -left", False, "left"),
    ("a person raises -right", False, "right"),
    ("a person kicks -left", False, "left"),
]


@pytest.fixture(scope="module")
def engine():
    return Engine()


@pytest.fixture(scope="module")
def primitives(engine):
    return {c.id: list(c.label.get("primitives") or []) for c in engine.dataset().clips}


@pytest.fixture(scope="module")
def library(engine):
    return engine.service().library(engine.dataset())


def shown_word_problems(words) -> list[str]:
    """The displayed words that are not words: special tokens, punctuation, '##' pieces, stop words."""
    bad = []
    for word in words:
        if word in SPECIAL or word.startswith("##") or not re.fullmatch(r"[a-z]{2,}", word) or word in STOPWORDS:
            bad.append(word)
    return bad


def words_of(pairs) -> list[str]:
    return [w for w, _ in (pairs.items() if isinstance(pairs, dict) else pairs)]


# ------------------------------------------------------------------------------------------------ negatives
@pytest.mark.parametrize("query, keywords, side", NEGATIVE_QUERIES)
def test_a_negative_side_keeps_hits_and_keeps_that_side_out_of_the_top_5(engine, primitives, query, keywords,
                                                                          side):
    result = engine.search(query, keywords=keywords, k=20)
    hits = result["hits"]
    assert len(hits) >= 5, result.get("message")
    # none of the top 5 does the query's action on the excluded side, alone or in a composition: a right kick
    # followed by a left one weighs "left" and "right" alike over the whole clip, and it is its left-kick part
    # that shows "left" with "kick" (engine/inference/motion_parts.py)
    verb = {"waves": "wave", "raises": "raise", "kicks": "kick"}.get(query.split()[-2], query.split()[0])
    from_side = [primitives[h["id"]] for h in hits[:5]
                 if any(p.startswith(verb) and p.endswith(side) for p in primitives[h["id"]])]
    assert from_side == [], f"{query!r}: top 5 holds {from_side}"


def test_compositions_of_both_sides_are_excluded_by_their_parts(library):
    """The default library's right-then-left (or left-then-right) kicks: the whole clip's salience lets them
    through `kick -left`; their halves catch all but those whose middle falls inside the first action (two slow
    right kicks, then one left kick: the second half still weighs "right" more), which rank below the top 5
    (test_a_negative_side_keeps_hits_and_keeps_that_side_out_of_the_top_5)."""
    from engine.index import parse_keywords
    both = [i for i, c in enumerate(library.dataset.clips)
            if {"kick_left", "kick_right"} <= set(c.label.get("primitives") or [])]
    left = library.vocab.id("left")
    kick = [t for t in parse_keywords("kick", library.model.tokenizer, inflections=True).weights]
    whole = set(library.motions.salient_documents(left, library.salience).tolist())
    parts = set(library.part_index().excluded([left], kick, library.salience).tolist())
    assert [i for i in both if i not in whole], "no composition the whole clip's rule misses: nothing to test"
    missed = [i for i in both if i not in whole | parts]
    assert len(missed) <= len(both) // 4, [library.dataset.clips[i].captions[0] for i in missed]


@pytest.mark.parametrize("query, keywords", [("wave -left", True), ("run:2 jump -left", True),
                                             ("wave:2 both -left", True), ("a person waves -left", False)])
def test_a_negative_word_no_longer_empties_the_library(engine, query, keywords):
    result = engine.search(query, keywords=keywords, k=10)
    assert len(result["hits"]) == 10 and "message" not in result


def test_when_every_match_shows_the_negative_the_message_says_so(engine, library):
    """A word and a `-word` salient in every motion that holds the word: no hits, and a message saying so."""
    index, vocab = library.motions, library.vocab
    m = index.matrix().tocsc()
    found = None
    from engine.index import parse_keywords
    lexicon = [vocab.word(int(t)) for t in library.model.lexicon.term_ids.tolist()]
    rare_first = ("squat", "bow", "clap", "jacks", "sit", "kick", "punch", "jump", "raise", "wave", "run", "walk")
    for word in rare_first + tuple(w for w in lexicon if vocab.is_displayable(w) and w not in rare_first):
        term = vocab.whole_word_id(word)
        if term is None or term >= m.shape[1]:
            continue
        # the motions the keyword finds: those holding any of its forms (a keyword is searched in all of them)
        terms = parse_keywords(word, library.model.tokenizer, pieces=False, inflections=True).weights
        holders = set().union(*(m[:, t].nonzero()[0].tolist() for t in terms if t < m.shape[1]))
        first = m[:, :].getrow(min(holders)).toarray()[0] if holders else None
        for other, _ in (vocab.top_terms(first, 8) if first is not None else []):
            salient = set(index.salient_documents(vocab.id(other), library.salience).tolist())
            if other != word and holders <= salient:
                found = (word, other)
                break
        if found:
            break
    assert found, "no word whose every holder shows another word among its top 8: the salience rule changed"
    word, other = found
    result = engine.search(f"{word} -{other}", keywords=True)
    assert result["hits"] == []
    assert f"'{other}'" in result["message"] and "salient" in result["message"]
    from app.search_tab import summary
    text = summary(result, "synthetic")
    assert f"'{other}'" in text and "shares a word" not in text


def test_salience_of_a_side_word_is_the_pair_and_both_within_the_top_24_words(library):
    """'left' is salient where it outweighs 'right' and 'both' and is among the 24 heaviest words; a word
    without an opposite ('wave') where it is among the 8 heaviest."""
    index, vocab = library.motions, library.vocab
    m = index.matrix().tocsr()
    left, right, both, wave = (vocab.id(w) for w in ("left", "right", "both", "wave"))
    salient = set(index.salient_documents(left, library.salience).tolist())
    waves = set(index.salient_documents(wave, library.salience).tolist())
    seen = 0
    for d in range(0, len(index), 37):
        row = m.getrow(d).toarray().ravel()
        heavier = int(((row > row[left]) & vocab.displayable).sum())
        expected = row[left] > 0 and heavier < 24 and row[left] > row[right] and row[left] > row[both]
        assert (d in salient) == expected, d
        seen += expected and heavier >= 8          # what the 8-word rule missed: a side shown below the actions
        heavier_than_wave = int(((row > row[wave]) & vocab.displayable).sum())
        assert (d in waves) == (row[wave] > 0 and heavier_than_wave < 8), d
    assert seen > 0


# ------------------------------------------------------------------------------------------------ words
def test_the_displayable_rule_on_the_vocabulary():
    vocab = Vocabulary.from_model_dir()
    shown = [w for w, ok in zip(vocab.words, vocab.displayable) if ok]
    assert shown and shown_word_problems(shown) == []
    for word in ("left", "up", "jumping", "waves", "kick"):
        assert vocab.is_displayable(vocab.id(word)) and is_displayable_word(word)
    for word in ("jo", "ja", "un", "##q", "[CLS]", ".", "a", "the", "person", "someone", "man", "woman", "their"):
        assert not is_displayable_word(word), word
        assert vocab.id(word) is None or not vocab.is_displayable(vocab.id(word)), word


def test_search_hits_and_query_terms_show_words_only(engine):
    for query, keywords in (("a person waves the left hand.", False), ("someone kicks with the right foot", False),
                            ("wave left the", True), ("zzzqqq jump", True)):
        result = engine.search(query, keywords=keywords, k=10)
        words = words_of(result["query_terms"]) + [w for h in result["hits"] for w in words_of(h["terms"])]
        assert words and shown_word_problems(words) == [], query
        assert all(h["terms"] for h in result["hits"][:3]), query
    service = engine.service()
    pieced = service.library(engine.dataset()).search_keywords("zzzqqq jump", pieces=True)
    assert shown_word_problems(words_of(pieced["query_terms"])) == []


def test_caption_explain_and_compare_show_words_only(engine):
    motion = engine.clip(None, engine.dataset().clips[3].id)
    analysed = engine.analyse(motion, caption="A person waves with the left hand, then jumps.")
    cmp = analysed["compare"]
    for words in (words_of(analysed["caption"]["terms"]), words_of(analysed["explain"]["terms"]),
                  words_of(cmp["motion_terms"]), words_of(cmp["caption_terms"]), words_of(cmp["motion_only"]),
                  words_of(cmp["caption_only"]), words_of(engine.text_terms("the person runs, then stops."))):
        assert words and shown_word_problems(words) == [], words
    for row in engine.motion_to_text(motion, k=3):
        assert shown_word_problems(words_of(row["terms"])) == []


def test_the_audit_shows_words_only(tiny_checkpoint):
    report = Engine(checkpoint=str(tiny_checkpoint), data=DATA).audit(DATA)
    words = words_of(report["caption_terms"]) + words_of(report["motion_terms"])
    words += words_of(report.get("base_encoder_caption_terms", []))
    words += [w for side in report["usage"].values() for w in words_of(side)]
    for row in report["disagreements"]:
        words += words_of(row["motion_only"]) + words_of(row["caption_only"])
    assert words and shown_word_problems(words) == []


# ------------------------------------------------------------------------------------------------ named words
def test_a_word_outside_the_vocabulary_is_named_and_not_searched_on_its_pieces(engine, library):
    result = engine.search("zzzqqq wave", keywords=True)
    assert result["unknown_words"] == ["zzzqqq"]
    assert sorted(w for w, _ in result["query_terms"]) == ["wave", "waved", "waves", "waving"] and result["hits"]
    assert "pieces" not in result
    with pytest.raises(MotionLexError, match="zzzqqq"):
        engine.search("zzzqqq", keywords=True)
    pieced = library.search_keywords("zzzqqq wave", pieces=True)     # on request: searched on its pieces
    assert pieced["unknown_words"] == [] and pieced["pieces"]["zzzqqq"][-1].startswith("##")
    from app.search_tab import summary
    assert "zzzqqq" in summary(result, "synthetic") and "zzzqqq" in summary(pieced, "synthetic")


def test_a_word_outside_the_lexicon_gets_a_message_naming_it(engine, library):
    vocab = library.vocab
    out = next(w for w in ("saxophone", "volcano", "tennis", "swim", "guitar", "piano", "banana")
               if vocab.whole_word_id(w) is not None and vocab.whole_word_id(w) not in library.lexicon)
    assert library.lexicon is not None
    alone = engine.search(out, keywords=True)
    assert alone["hits"] == [] and alone["inactive_words"] == [out]
    assert re.search(rf"'{out}' is not in this model's lexicon", alone["message"])
    mixed = engine.search(f"{out} wave", keywords=True)
    assert mixed["inactive_words"] == [out] and mixed["hits"]
    text = engine.search(f"a person waves then {out}", k=3)
    assert out in text["inactive_words"]
    from app.search_tab import summary
    assert out in summary(mixed, "synthetic") and f"'{out}' is not in this model's lexicon" in summary(alone, "")


# ------------------------------------------------------------------------------------------------ CLI
def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_the_cli_prints_labels_as_text(engine):
    engine.search("wave", keywords=True)   # the library's index is built and cached before the CLI runs
    proc = run_cli("search", "--query", "wave -left", "--keywords", "--k", "3")
    assert proc.returncode == 0, proc.stderr
    hits = [line for line in proc.stdout.splitlines() if line.strip().startswith("- id=")]
    assert len(hits) == 3, proc.stdout
    for line in hits:
        assert "{" not in line and "'primitives'" not in line, line
        assert re.search(r"label=wave (right|both)", line), line
        assert re.search(r"terms=(\w+ \(0\.\d\d\), )*wave \(0\.\d\d\)", line), line
    proc = run_cli("search", "--query", "zzzqqq wave", "--keywords", "--k", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["unknown_words"] == ["zzzqqq"] and out["hits"][0]["label_text"].startswith("wave ")
    proc = run_cli("search", "--query", "zzzqqq wave", "--keywords", "--k", "2", "--pieces")
    assert proc.returncode == 0, proc.stderr
    assert "zzzqqq: z ##zz" in proc.stdout and "unknown_words: (none)" in proc.stdout


def test_label_text_reads_both_label_kinds():
    from engine.cli.search import label_text
    procedural = {"primitives": ["wave_left", "walk"], "style": "energetic", "sides": ["left"],
                  "parts": [{"primitive": "wave_left", "side": "left", "speed": "slow", "amplitude": "normal",
                             "reps": None, "direction": None, "in_place": None, "turn_deg": None, "first": None},
                            {"primitive": "walk", "side": None, "speed": "normal", "amplitude": "normal",
                             "reps": 2, "direction": "forward", "in_place": None, "turn_deg": None, "first": None}]}
    assert label_text(procedural) == "wave left (slow), then walk (twice, forward); style energetic"
    assert label_text({"content": "walk", "style": "elderly", "side": None}) == "content=walk style=elderly"
    assert label_text(None) == ""


@pytest.mark.parametrize("query, keywords, primitive", [
    ("wave left hand", True, "wave_left"), ("wave right hand", True, "wave_right"),
    ("kick left leg", True, "kick_left"),
    ("raise right arm", True, "raise_right"),
    ("a person raises the right arm", False, "raise_right"),
    ("someone waves with the left hand", False, "wave_left")])
def test_a_query_naming_a_side_ranks_that_side_first(engine, query, keywords, primitive):
    """The model tells the sides apart by which side word is heavier (a right wave may weigh "left" more than
    a left wave does), so a query naming one side ranks first the motions where that word outweighs its
    opposite (the rule `-word` excludes by), each group by score; a left raise outscores right raises on
    `raise right arm` through heavier "raise" and "arm" (issue 15's notes). Not listed: `punch right arm` and
    `punch left arm`, whose top 5 hold punches of the other side composed with a raise or wave of the named side
    (they do show the named side, through another action: bench/RESULTS.md)."""
    result = engine.search(query, keywords=keywords, k=5)
    side = "right" if "right" in query else "left"
    assert result["side_words"] == [side]
    assert [primitive in h["label"]["primitives"] for h in result["hits"]] == [True] * 5
    assert all(h["shows_side"] for h in result["hits"])


def test_hits_that_show_the_named_side_come_before_the_others(engine):
    shown = [h["shows_side"] for h in engine.search("jump left", keywords=True, k=80)["hits"]]
    assert True in shown and False in shown and shown == sorted(shown, reverse=True)
    assert "side_words" not in engine.search("sit down stand up", keywords=True, k=5)   # both of a pair: no side
    from app.search_tab import summary
    assert "Names a side (left): the 5 hits that show it" in summary(engine.search("wave left hand", k=5), "synthetic")


def test_a_free_text_negative_not_held_whole_excludes_by_its_whole_forms(engine, library):
    """`-squatting`: BERT holds "squat" but not "squatting"; the motions that show "squat" are left out."""
    showing = {library.motions.ids[i] for i in library.motions.salient_documents(library.vocab.id("squat"),
                                                                                 library.salience)}
    assert showing, "no motion shows 'squat': the check below would be empty"
    query = "a person bends the knees and goes down"
    kept = {h["id"] for h in engine.search(query, k=50)["hits"]}
    assert kept & showing                                # without the negative, squats rank in the top 50
    result = engine.search(query + " -squatting", k=50)
    assert "squatting" not in result["unknown_words"]
    assert result["hits"] and not {h["id"] for h in result["hits"]} & showing
