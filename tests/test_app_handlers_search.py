"""Search tab handlers with the shipped model and library: text and keyword queries, a query with no hits and
a failing query (both clear the previous results), animated previews that decode as GIFs, a hit opened."""
import numpy as np
import pytest

from app.feedback import is_error
from app.search_tab import PLACEHOLDER_DETAILS, hit_rows, preview_caption, previews, run_search, show_hit, summary, \
    words_panel
from tests.app_fixtures import NoProgress


def test_text_search_returns_hits_and_clears_the_old_view(engine):
    status, rows, bars, hits, gallery, plot, details = run_search(engine, "a person waves the left hand", "free text",
                                                                   5, "synthetic", progress=NoProgress())
    assert "5 hits" in status and len(rows) == 5 == len(hits)
    assert rows[0][0] == 1 and rows[0][1] == hits[0]["id"] and bars.data[0].type == "bar"
    assert gallery == [] and plot is None and details == PLACEHOLDER_DETAILS   # stale results cleared


def test_keywords_and_a_query_without_hits(engine):
    status, rows, *_ = run_search(engine, "walk:2 circle", "keywords", 10, "synthetic", progress=NoProgress())
    assert "(keywords)" in status and rows
    status, rows, bars, hits, gallery, plot, details = run_search(engine, "zebra", "keywords", 10, "synthetic",
                                                                   progress=NoProgress())
    assert rows == [] and hits == [] and gallery == [] and plot is None and "0 hits" in status
    assert "lexicon" in status or "no motion" in status.lower()


def test_a_keyword_not_held_whole_is_searched_in_its_whole_forms_and_says_so(engine):
    status, rows, *_ = run_search(engine, "jog", "keywords", 5, "synthetic", progress=NoProgress())
    assert len(rows) == 5 and "searched in their whole forms: jog as jogged / jogging" in status
    assert "Not words of the vocabulary" not in status


def test_a_keyword_is_searched_in_its_other_forms_too_and_says_so(engine):
    status, rows, *_ = run_search(engine, "raise -right", "keywords", 5, "synthetic", progress=NoProgress())
    assert len(rows) == 5 and "Also searched in their other forms: raise as raised / raises / raising" in status


def test_a_failing_query_is_one_message_and_clears_everything(engine):
    status, rows, bars, hits, gallery, plot, details = run_search(engine, "   ", "free text", 10, "synthetic",
                                                                   progress=NoProgress())
    assert is_error(status) and status.count("ml-error") == 1 and "type a query" in status
    assert rows == [] and bars is None and hits == [] and gallery == [] and plot is None


def test_spec_with_an_ampersand_is_shown_as_typed():
    text = summary({"mode": "keywords", "query": "run & jump", "hits": [{}], "unknown_words": []}, "synthetic?n=9&x=1")
    assert "`synthetic?n=9&x=1`" in text and "&amp;" not in text and "run & jump" in text


def test_previews_are_animated_gifs_with_the_words(engine):
    iio = pytest.importorskip("imageio.v3")
    _, _, _, hits, *_ = run_search(engine, "jump", "keywords", 3, "synthetic", progress=NoProgress())
    items, note = previews(engine, "synthetic", hits, progress=NoProgress())
    assert len(items) == 3 and note == ""
    path, caption = items[0]
    frames = iio.imread(path, index=None)
    assert frames.ndim == 4 and frames.shape[0] > 5 and not np.array_equal(frames[0], frames[-1])
    assert caption.startswith("#1 · ") and f"{hits[0]['score']:.3f}" in caption
    assert previews(engine, "synthetic", hits, progress=NoProgress())[0][0][0] == path   # cached file reused


def test_words_panel_draws_bars_longest_first():
    panel = words_panel([("jump", 0.8), ("up", 0.4)], 176)
    blue = (panel[..., 2] > 150) & (panel[..., 0] < 100)
    rows = [np.nonzero(blue[y])[0] for y in (10, 25)]
    assert len(rows[0]) > 1.8 * len(rows[1]) > 0


def test_show_hit(engine):
    _, _, _, hits, *_ = run_search(engine, "kick", "keywords", 3, "synthetic", progress=NoProgress())
    figure, details = show_hit(engine, "synthetic", hits, 2)
    assert hits[1]["id"] in figure.layout.title.text and "found because" in details
    assert show_hit(engine, "synthetic", hits, 9)[1] == PLACEHOLDER_DETAILS
    assert hit_rows(hits)[1][1] == hits[1]["id"] and preview_caption(hits[1], 2).startswith("#2")
