"""Shared by the tests/test_train_*.py files (no tests here): a shrunken config that trains in seconds."""
from engine.config import preset
from engine.config_overrides import apply_overrides

DATA = "synthetic?n=60&seed=3"
SMALL = ["model.motion_dim=32", "model.motion_depth=1", "model.motion_heads=2", "model.decoder_layers=1",
         "model.max_text_len=16", "model.lexicon=restricted", "model.lexicon_neighbours=0",
         "model.max_frames=32", "data.max_frames=32", "data.extra_text=false", "train.log_every=1",
         "train.checkpoint_every=1000", "train.flops_ramp=0"]


def small_config(steps: int = 4, batch: int = 8, extra: list[str] = ()):
    sets = [f"train.{p}.{k}={v}" for p in ("lexmlm", "cmmm", "lexmmm", "lexcmlp", "caption", "dense")
            for k, v in (("steps", steps), ("batch_size", batch))]
    return apply_overrides(preset("tiny"), SMALL + sets + list(extra))
