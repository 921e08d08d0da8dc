"""`data.shares`: joint training draws each dataset in a fixed share of every batch, deterministically, every clip
once per its dataset's epoch, with hard negatives on top, and a training run really draws its batches that way."""
import numpy as np
import pytest
import torch

from engine.config import DataConfig
from engine.config_overrides import apply_overrides
from engine.data import open_dataset
from engine.errors import SpecError
from engine.train.batching import Batcher
from engine.train.dataset_shares import SharedStream, batch_quotas, shared_stream
from engine.train.hard_negatives import NeighbourStream
from engine.train.run import train
from tests.test_train_helpers import small_config

torch.set_num_threads(1)
JOINT = "synthetic?n=30&seed=1,synthetic?n=30&seed=2"


def test_quotas_give_named_shares_and_split_the_rest_by_size():
    assert batch_quotas([1600, 1600, 2324], [None, None, 0.59], 32) == [7, 6, 19]
    assert sum(batch_quotas([7, 3, 11], [0.2, None, None], 13)) == 13
    assert batch_quotas([10, 10], [0.3, 0.1], 8) == [6, 2]       # all named: relative to each other
    assert batch_quotas([1600, 2324], [None, None], 32) == [13, 19]   # none named: the clips' own shares


def test_each_batch_holds_the_quotas_and_each_dataset_cycles_through_its_clips():
    groups = [np.arange(0, 10), np.arange(10, 40)]
    stream = SharedStream(groups, [0.5, None], seed=0, phase="align", batch_size=8)
    batches = [stream.batch(step) for step in range(15)]
    small = [[i for i, _, _ in b if i < 10] for b in batches]
    assert all(len(s) == 4 for s in small) and all(len(b) == 8 for b in batches)
    assert sorted(sum(small[:5], [])) == sorted(list(range(10)) * 2)   # 10 small clips twice in 5 batches
    large = [i for b in batches for i, _, _ in b if i >= 10]
    assert len(set(large[:28])) == 28                                   # the large one: no repeat within its epoch
    assert sorted(large) == sorted(list(range(10, 40)) * 2)             # and each clip twice in two epochs
    assert stream.batch(3) == SharedStream(groups, [0.5, None], 0, "align", 8).batch(3)   # a pure function
    assert stream.batch(3) != SharedStream(groups, [0.5, None], 1, "align", 8).batch(3)
    assert [i < 10 for i, _, _ in batches[0]] != sorted([i < 10 for i, _, _ in batches[0]], reverse=True) or \
        [i < 10 for i, _, _ in batches[1]] != sorted([i < 10 for i, _, _ in batches[1]], reverse=True)  # mixed


def test_hard_negatives_keep_the_anchor_quotas():
    groups = [np.arange(0, 10), np.arange(10, 40)]
    base = SharedStream(groups, [0.5, None], seed=0, phase="align", batch_size=10)
    neighbours = np.array([[(i + 1) % 40, (i + 2) % 40] for i in range(40)])
    stream = NeighbourStream(base, neighbours, 0.2)                      # 2 neighbours, 8 anchors
    batch = stream.batch(2)
    anchors = SharedStream(groups, [0.5, None], 0, "align", 8).batch(2)
    assert len(batch) == 10 and [batch[0], batch[2]] + batch[4:] == anchors


def test_shares_name_the_joint_datasets():
    dataset = open_dataset(JOINT)
    clips = dataset.split("train")
    stream = shared_stream(clips, {"synthetic2": 0.75}, 0, "cmmm", 8)
    assert all(sum(clips[i].meta["dataset"] == "synthetic2" for i, _, _ in stream.batch(s)) == 6 for s in range(5))
    with pytest.raises(SpecError, match="bandai.*synthetic, synthetic2"):
        shared_stream(clips, {"bandai": 0.5}, 0, "cmmm", 8)
    cfg = apply_overrides(small_config(), ["data.shares=bandai=0.59,synthetic2=0.1"])
    assert cfg.data.share_map() == {"bandai": 0.59, "synthetic2": 0.1}
    for bad in ("bandai", "bandai=0", "bandai=x", "a=0.6,a=0.1", "a=0.7,b=0.4"):
        with pytest.raises(SpecError, match="data.shares"):
            DataConfig(shares=tuple(bad.split(",")))


def test_a_training_run_draws_its_batches_in_the_shares(tmp_path, monkeypatch):
    drawn = []
    build = Batcher.build

    def record(self, draws, train):
        if train:
            drawn.append([self.clips[i].meta["dataset"] for i, _, _ in draws])
        return build(self, draws, train)

    monkeypatch.setattr(Batcher, "build", record)
    cfg = small_config(3, 8, ["data.shares=synthetic2=0.75"])
    train(cfg, JOINT.split(","), "cmmm", tmp_path / "run")
    assert len(drawn) == 3 and all(names.count("synthetic2") == 6 for names in drawn), drawn
