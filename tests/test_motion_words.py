"""The motion side's low-rank word correction (engine/models/motion_words.py): added at zero it changes nothing,
trained it moves motion vectors only, never a text vector or what a generator's condition reads."""
import numpy as np
import torch

from engine.checkpoint import load_checkpoint
from engine.data import open_dataset
from engine.generator_checkpoint import condition_hash
from engine.models.encode import encode_motions, encode_texts
from engine.models.motion_words import MotionWordShift
from tests.test_train_helpers import DATA


def test_the_shift_reads_the_lexicons_rows():
    shift = MotionWordShift(vocab_size=10, hidden=6, rank=2)
    with torch.no_grad():
        shift.shift.copy_(torch.arange(20, dtype=torch.float32).reshape(10, 2))
    x = torch.randn(3, 6)
    ids = torch.tensor([7, 2])
    assert torch.allclose(shift(x, ids), shift(x)[:, ids])
    assert shift(x).shape == (3, 10)


def test_added_at_zero_then_moved_the_motion_side_only(tiny_checkpoint):
    model, _, _ = load_checkpoint(tiny_checkpoint)
    dataset = open_dataset(DATA)
    motions = [dataset.motion(c.id).joints for c in dataset.split("train")[:3]]
    before_m = encode_motions(model, motions, kind="lexical").toarray()
    before_t = encode_texts(model, ["a person waves", "someone jogs"]).toarray()
    hash_before = condition_hash(model)
    model.add_motion_words(4)
    assert model.cfg.motion_word_rank == 4
    assert np.array_equal(encode_motions(model, motions, kind="lexical").toarray(), before_m)
    with torch.no_grad():
        model.motion_words.shift.normal_(0.0, 1.0)
    assert not np.allclose(encode_motions(model, motions, kind="lexical").toarray(), before_m)
    assert np.array_equal(encode_texts(model, ["a person waves", "someone jogs"]).toarray(), before_t)
    assert condition_hash(model) == hash_before
