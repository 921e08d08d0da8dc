"""Two-part captions (engine/inference/two_part.py): the cut, the threshold learnt from the library's
captions, the joined text, and on the shipped model and library: clips of two parts are captioned in two."""
import json

import numpy as np
import pytest
import torch

from engine.inference.two_part import (TWO_PART_CAPTION, best_cut, fit_threshold, join_captions,
                                       library_threshold, same_action)
from engine.inference.library_search import TWO_PART_FILE, TWO_PART_RULE
from engine.models.config import ModelConfig


class Sized:
    """What best_cut reads of a model: its config (how vectors are scored)."""
    cfg = ModelConfig.tiny()


def test_the_cut_falls_where_the_words_change():
    a, b = torch.zeros(2000), torch.zeros(2000)
    a[:80], b[60:140] = 1.0, 1.0
    window_p = torch.stack([a, a * 0.9, b, b * 1.1, b])
    j, dissimilarity = best_cut(Sized, window_p)
    assert j == 2 and dissimilarity > 0.5
    assert best_cut(Sized, window_p[:1]) is None                      # one window: nothing to cut
    _, same = best_cut(Sized, torch.stack([a, a * 0.8, a]))
    assert same < 1e-6


def test_the_threshold_splits_few_one_part_clips_and_needs_the_two_kinds_to_separate():
    one = np.linspace(0.0, 0.2, 101)                                  # one-part dissimilarities
    t = fit_threshold(one, np.linspace(0.15, 0.5, 50))
    assert t == pytest.approx(0.19) and np.mean(one > t) <= 0.05     # 5% of one-part clips split at most
    assert fit_threshold(one, np.linspace(0.0, 0.25, 50)) is None     # under half the two-part clips caught


def test_joined_captions_read_as_one_sentence():
    assert join_captions("A person waves the left hand.", "A lively person walks forward.") == \
        "A person waves the left hand, then walks forward."
    assert join_captions("Someone jumps.", "Someone then sits down.") == "Someone jumps, then sits down."
    assert join_captions("The man bows.", "The woman.") == "The man bows, then the woman."
    assert TWO_PART_CAPTION.search("a man walks, then runs") and not TWO_PART_CAPTION.search("a man walks")


def test_halves_that_say_one_thing_are_one_action():
    assert same_action("A person jogs in a circle.", "A person jogs in a circle.")
    assert same_action("A person sits down and stands up.", "A person sits down and stands up slowly.")
    # a side is what tells two kicks apart; other actions share too few words
    assert not same_action("The person kicks with the right foot twice.", "The person kicks with the left foot twice.")
    assert not same_action("A person waves the left hand.", "A person walks forward.")
    assert not same_action("A person waves.", "")


def test_no_served_caption_repeats_its_first_half(served):
    """Library clips of one repeated action whose cut passes the threshold: the caption is not "X, then X"."""
    service, library = served
    frames = service.model.cfg.max_frames
    clips = [c for c in library.dataset.clips if c.frames > 1.5 * frames and len(c.label["primitives"]) == 1
             and c.label["primitives"][0] in ("jog", "sit_down_stand_up")][:8]
    for clip in clips:
        out = service.caption(service.encode(library.dataset.motion(clip.id).joints), library, exclude=clip.id)
        for text in (out["caption"], out["decoder_caption"]):
            if ", then " in text:
                first, second = text.rstrip(".").split(", then ", 1)
                assert not same_action(first, second), text


@pytest.fixture(scope="module")
def served(engine):
    service = engine.service()
    return service, service.library(engine.dataset())


def test_library_clips_of_two_parts_are_captioned_in_two(served):
    """Over the library's longer clips (two windows or more): most two-part clips are captioned in two parts,
    few one-part clips are. Figures for the whole test split: eval's captioning.two_part."""
    service, library = served
    frames = service.model.cfg.max_frames
    long = [c for c in library.dataset.clips if c.frames > 1.5 * frames][::7]
    kinds = {n: [c for c in long if len(c.label["primitives"]) == n][:12] for n in (1, 2)}
    parts = {n: [service.caption(service.encode(library.dataset.motion(c.id).joints), library, exclude=c.id)
                 for c in clips] for n, clips in kinds.items()}
    two = np.mean([p["parts"] == 2 for p in parts[2]])
    one = np.mean([p["parts"] == 2 for p in parts[1]])
    assert two >= 0.5 and one <= 0.35, (two, one)
    joined = [p for p in parts[2] if p["parts"] == 2]
    assert all(", then " in p["caption"] and ", then " in p["decoder_caption"] for p in joined)
    plain = service.caption(service.encode(library.dataset.motion(kinds[2][0].id).joints), library,
                            two_part=False)
    assert plain["parts"] == 1


def test_the_threshold_is_learnt_once_and_kept_beside_the_index(served, tmp_path, monkeypatch):
    service, library = served
    monkeypatch.setattr(library, "root", tmp_path)        # the shipped folder stays as shipped
    monkeypatch.delattr(library, "_two_part", raising=False)
    threshold = library.two_part_threshold()
    assert threshold is not None and 0 < threshold < 1
    saved = json.loads((library.root / TWO_PART_FILE).read_text())
    assert saved == {"fingerprint": library.fingerprint, "rule": TWO_PART_RULE, "threshold": threshold}
    again = library_threshold(service.model, library.dataset)
    assert again == threshold                                          # deterministic: the same clips
    (library.root / TWO_PART_FILE).write_text("{damaged")
    del library._two_part
    assert library.two_part_threshold() == threshold                   # recomputed, rewritten
    assert json.loads((library.root / TWO_PART_FILE).read_text())["threshold"] == threshold


def test_a_library_without_two_part_captions_never_splits(served):
    service, library = served
    one_part = library.dataset.subset("test")
    one_part.clips = [c for c in one_part.clips if not any(TWO_PART_CAPTION.search(t) for t in c.captions)]
    assert library_threshold(service.model, one_part) is None
