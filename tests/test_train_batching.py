"""Batching: deterministic in (seed, phase, step), DDP shards tile the global batch, crops, text corpus."""
from pathlib import Path

import numpy as np
import torch

from engine.config import DataConfig
from engine.data import open_dataset
from engine.train.batching import Batcher, ItemStream, extra_text_lines, text_corpus
from engine.train.distributed import DistInfo

SHARED_TEXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"


def tokenize(texts):
    """A real (if crude) tokenizer: one id per character, padded; enough to exercise batching."""
    length = max(len(t) for t in texts)
    ids = torch.zeros(len(texts), length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids[i, :len(text)] = torch.tensor([ord(c) for c in text])
    return ids, ids > 0


def make(kind, dist=DistInfo(), seed=0, batch=6, max_frames=24):
    ds = open_dataset("synthetic?n=40&seed=1")
    cfg = DataConfig(max_frames=max_frames, extra_text=False)
    return Batcher(kind, ds, ds.split("train"), cfg, batch, seed, "cmmm", tokenize, dist)


def test_stream_covers_every_item_once_per_epoch():
    stream = ItemStream(10, seed=3, phase="x", batch_size=4)
    first_epoch = [i for step in range(5) for i, _, _ in stream.batch(step)][:10]
    assert sorted(first_epoch) == list(range(10))
    assert stream.batch(7) == ItemStream(10, 3, "x", 4).batch(7)     # a pure function of the step
    assert stream.batch(7) != ItemStream(10, 4, "x", 4).batch(7)     # ... and of the seed


def test_batches_are_reproducible_and_ddp_shards_tile_the_global_batch():
    one = make("pair")
    a, b = one.batch(5), make("pair").batch(5)
    assert a["clip_ids"] == b["clip_ids"] and a["texts"] == b["texts"] and torch.equal(a["joints"], b["joints"])
    shards = [make("pair", DistInfo(rank=r, world=2)).batch(5) for r in range(2)]
    assert shards[0]["clip_ids"] + shards[1]["clip_ids"] == a["clip_ids"]
    assert shards[0]["texts"] + shards[1]["texts"] == a["texts"]
    captions = {c.id: c.captions for c in one.clips}
    assert a["references"] == [captions[i] for i in a["clip_ids"]]       # every caption of each clip
    assert all(t in refs for t, refs in zip(a["texts"], a["references"]))


def test_windows_random_crop_in_training_centre_crop_at_eval():
    batcher = make("motion", max_frames=24)
    batch = batcher.batch(0)
    assert batch["joints"].shape[1] <= 24 and batch["joints"].shape[2:] == (22, 3)
    lengths = batch["frame_mask"].sum(1)
    for row, clip_id in enumerate(batch["clip_ids"]):
        assert lengths[row] == min(24, batcher.windows.dataset.clip(clip_id).frames)
        assert not batch["joints"][row, lengths[row]:].any()                 # padding is zero
    index = next(i for i, c in enumerate(batcher.clips) if c.frames > 30)
    full = batcher.windows.joints(index)
    centre = batcher.windows.window(index, None)
    start = (len(full) - 24) // 2
    assert np.array_equal(centre, full[start:start + 24])
    assert np.array_equal(batcher.windows.window(index, 0.0), full[:24])
    assert np.array_equal(batcher.windows.window(index, 0.999), full[-24:])


def test_text_corpus_and_extra_text(tmp_path):
    (tmp_path / "a.txt").write_text("A person walks.\n\nsomeone jumps\n")
    (tmp_path / "b.tsv").write_text("01_01\tplayground - forward jumps\n")
    cfg = DataConfig(text_files=(str(tmp_path / "a.txt"), str(tmp_path / "b.tsv"), str(tmp_path / "missing.txt")))
    assert extra_text_lines(cfg) == ["A person walks.", "someone jumps", "playground - forward jumps"]
    ds = open_dataset("synthetic?n=20&seed=1")
    corpus = text_corpus(ds.split("train"), cfg)
    assert len(corpus) == len(set(corpus)) and corpus[-1] == "playground - forward jumps"
    assert extra_text_lines(DataConfig(text_files=cfg.text_files, extra_text=False)) == []


def test_shared_text_files_are_read_when_present():
    if not SHARED_TEXT.is_dir():
        import pytest
        pytest.skip(f"{SHARED_TEXT} is absent (the team's real-data folder)")
    files = tuple(str(SHARED_TEXT / name) for name in ("kitml-sentences.txt", "cmu-trial-descriptions.tsv"))
    assert extra_text_lines(DataConfig()) == []          # product code names no data folder of ours
    lines = extra_text_lines(DataConfig(text_files=files))
    assert len(lines) > 8000 and not any("\t" in line for line in lines)


def test_mirror_augmentation_mirrors_the_motion_and_swaps_the_captions_sides():
    """data.mirror: a mirrored item's joints are mirror_joints of the plain item's and every caption's side
    words are exchanged; the draw is per item and reproducible, and evaluation batches are never mirrored."""
    from dataclasses import replace

    from engine.data.mirror import mirror_caption
    from engine.skeleton import mirror_joints

    ds = open_dataset("synthetic?n=40&seed=1")
    base = DataConfig(max_frames=24, extra_text=False)

    def batcher(p):
        return Batcher("pair", ds, ds.split("train"), replace(base, mirror=p), 16, 0, "lexcmlp", tokenize)

    plain, always, half = batcher(0.0).batch(3), batcher(1.0).batch(3), batcher(0.5).batch(3)
    assert plain["clip_ids"] == always["clip_ids"] == half["clip_ids"]
    assert torch.equal(always["joints"], mirror_joints(plain["joints"].clone()) * plain["frame_mask"][..., None, None])
    assert always["texts"] == [mirror_caption(t) for t in plain["texts"]]
    assert always["references"] == [[mirror_caption(t) for t in refs] for refs in plain["references"]]
    flipped = [not torch.equal(h, p) for h, p in zip(half["joints"], plain["joints"])]
    assert 0 < sum(flipped) < 16 and half["joints"].equal(batcher(0.5).batch(3)["joints"])
    assert next(batcher(1.0).eval_batches(4, 4))["texts"] == next(batcher(0.0).eval_batches(4, 4))["texts"]


def test_mirror_caption_swaps_every_side_word_and_keeps_case():
    from engine.data.mirror import mirror_caption

    assert mirror_caption("A person waves the Left hand, then turns RIGHT.") == \
        "A person waves the Right hand, then turns LEFT."
    assert mirror_caption("walks counter-clockwise, then clockwise; steps leftwards") == \
        "walks clockwise, then counterclockwise; steps rightwards"
    assert mirror_caption("a bright lefty") == "a bright lefty"     # whole words only
