"""Fixtures shared across test files: a real (tiny, seconds-long) trained checkpoint, and the engine on the
shipped model (what the app's tab handlers are called with)."""
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """All four phases, a few steps each, on 60 procedural clips: real weights, meaningless words."""
    from engine.train.run import train
    from tests.test_train_helpers import DATA, small_config

    out = tmp_path_factory.mktemp("checkpoint") / "tiny"
    train(small_config(steps=3), [DATA], "all", out)
    return out


@pytest.fixture(scope="module")
def engine():
    """An Engine on the shipped model and library, one per test module. A module that needs another engine
    (a generator checkpoint, a runs folder of its own) defines its own `engine` fixture, which wins."""
    from engine import Engine

    return Engine()
