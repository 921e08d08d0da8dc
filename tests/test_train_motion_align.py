"""`train --init CHECKPOINT --phases align`: the motion side keeps learning, the text side (all a generator's
condition reads) stays bit for bit, and the caption-word ranking term is trained and logged."""
import json

import pytest
import torch

from engine.checkpoint import load_checkpoint
from engine.errors import SpecError
from engine.generator_checkpoint import condition_hash
from engine.train.run import train
from tests.test_train_helpers import DATA, small_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def aligned(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("align") / "run"
    cfg = small_config(3, 8, [f"train.init={tiny_checkpoint}", "train.align.steps=3", "train.align.batch_size=8",
                              "train.align.lr_motion=1e-3", "train.align.w_words=1",
                              "train.align.words_idf=true",
                              "train.align.hard_negatives=0.25"])
    summary = train(cfg, [DATA], "align", out)
    return out, summary


def test_align_moves_the_motion_side_only(tiny_checkpoint, aligned):
    out, summary = aligned
    assert summary["phases_done"] == ["align"]
    before, _, _ = load_checkpoint(tiny_checkpoint)
    after, cfg, manifest = load_checkpoint(out)
    assert condition_hash(after) == condition_hash(before)
    assert torch.equal(after.lexicon.term_ids, before.lexicon.term_ids)
    moved = [n for n, p in after.state_dict().items() if not torch.equal(p, before.state_dict()[n])]
    assert moved and all(n.startswith(("motion_encoder.", "motion_decoder.")) for n in moved), moved
    assert cfg.train.init == str(tiny_checkpoint) and summary["phases_done"] == ["align"]
    # the manifest lists what the weights went through: the init checkpoint's phases, then this run's
    assert manifest["phases_done"] == ["lexmlm", "cmmm", "lexmmm", "lexcmlp", "caption", "align"]


def test_align_logs_the_caption_word_ranking_term(aligned):
    out, _ = aligned
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in records] == ["align"] * 3
    assert all(r["words"] > 0 and "text_anchor" not in r for r in records)


def test_hard_negatives_are_mined_once_and_drawn_beside_their_anchors(aligned, monkeypatch):
    import numpy as np
    from engine.train import hard_negatives
    from engine.train.batching import ItemStream
    from engine.train.hard_negatives import FILE, NeighbourStream
    out, _ = aligned
    neighbours = np.load(out / "align" / FILE)
    assert neighbours.ndim == 2 and neighbours.shape[1] == 8
    assert not (neighbours == np.arange(len(neighbours))[:, None]).any()      # a clip is not its own neighbour
    # a batch of 8 with a share of 0.25: 6 anchors in the plain order of batches of 6, the first two each followed
    # by a neighbour that takes its draws and is not already in the batch
    base = ItemStream(len(neighbours), seed=0, phase="align", batch_size=8)
    stream = NeighbourStream(base, neighbours, 0.25)
    anchors = ItemStream(len(neighbours), seed=0, phase="align", batch_size=6).batch(3)
    batch = stream.batch(3)
    assert len(batch) == 8 and [batch[0], batch[2]] + batch[4:] == anchors
    for (anchor, draw, crop), (item, draw_n, crop_n) in ((batch[0], batch[1]), (batch[2], batch[3])):
        assert item in neighbours[anchor] and (draw_n, crop_n) == (draw, crop)
    assert len({item for item, _, _ in batch}) == 8 and stream.batch(3) == batch   # no duplicate; a pure function

    class Batcher:   # what hard_negative_stream reads of a batcher
        stream, num_items = base, len(neighbours)
    monkeypatch.setattr(hard_negatives, "mine_neighbours", lambda *a, **k: pytest.fail("mined again"))
    resumed = hard_negatives.hard_negative_stream(None, Batcher(), 0.25, out / "align", resumed=True)
    assert np.array_equal(resumed.neighbours, neighbours)                       # a resumed phase reads its file


def test_caption_idf_over_the_training_clips(tiny_checkpoint):
    from engine.train.phases.lexcmlp_ours import caption_idf
    model, _, _ = load_checkpoint(tiny_checkpoint)
    idf = caption_idf(model, [["a person walks"], ["a person waves", "someone waves"], ["a person jumps"]])
    vocab = model.tokenizer.get_vocab()
    position = {w: int(model.lexicon.positions_of(torch.tensor([vocab[w]]))[0]) for w in ("person", "waves")}
    assert idf[position["person"]].item() == pytest.approx(0.0)            # in every clip
    assert idf[position["waves"]].item() == pytest.approx(torch.log(torch.tensor(3.0)).item())   # one clip of 3


def test_init_must_name_a_checkpoint(tmp_path):
    cfg = small_config(1, 8, [f"train.init={tmp_path / 'nothing'}"])
    with pytest.raises(SpecError, match="nothing"):
        train(cfg, [DATA], "align", tmp_path / "out")


def test_a_caption_word_cut_into_pieces_counts_as_its_whole_forms():
    """`words_whole_forms`: "jogs" (jo ##gs to the tokenizer) holds jogging, as the keyword query `jogs` reads it;
    without it the caption holds no jog word at all, and the word term ranks it among the non-joggers."""
    from pathlib import Path

    from engine.train.phases.lexcmlp_ours import caption_words

    model, _, _ = load_checkpoint(Path(__file__).resolve().parents[1] / "checkpoints" / "default")
    captions = ["a person jogs forward", "someone goes for a jog", "someone goes jogging", "a man runs fast"]
    batch = model.tokenizer(captions, padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"].bool()
    vocab = model.tokenizer.get_vocab()
    jogging, runs = (int(model.lexicon.position[vocab[w]]) for w in ("jogging", "runs"))
    assert jogging >= 0 and runs >= 0

    def holders(whole_forms: bool, position: int) -> list[bool]:
        columns, has_word = caption_words(model, ids, mask, whole_forms)
        return has_word[:, columns == position].any(dim=1).tolist()

    assert holders(False, jogging) == [False, False, True, False]
    assert holders(True, jogging) == [True, True, True, False]
    assert holders(True, runs) == holders(False, runs) == [False, False, False, True]
