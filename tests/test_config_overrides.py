"""Configs: presets, `--set` overrides with type conversion, clear errors, exact JSON round trip."""
import json

import pytest

from engine.config import Config, from_dict, load_config, preset, save_config, to_dict
from engine.config_overrides import apply_overrides
from engine.errors import SpecError


def test_presets_differ_and_follow_the_paper():
    tiny, paper = preset("tiny"), preset("paper")
    assert paper.train.lexmlm.batch_size == 128 and paper.train.cmmm.batch_size == 64
    assert (paper.train.lexmlm.epochs, paper.train.cmmm.epochs, paper.train.lexmmm.epochs,
            paper.train.lexcmlp.epochs) == (50, 200, 150, 20)
    assert paper.train.lexmlm.enc_mask == 0.3 and paper.train.lexmmm.dec_mask_start == 0.4
    assert paper.train.lexcmlp.lr_text == paper.train.lexcmlp.lr_motion == 1e-5
    assert tiny.train.lexmlm.steps > 0 and tiny != paper
    with pytest.raises(SpecError, match="unknown preset"):
        preset("huge")


def test_overrides_convert_types():
    cfg = apply_overrides(preset("tiny"), ["model.motion_depth=6", "train.lexcmlp.steps=100",
                                           "train.cccl=yes", "train.temperature=0.1",
                                           "data.specs=synthetic,bvh:/x", "train.triplet=drop"])
    assert cfg.model.motion_depth == 6 and isinstance(cfg.model.motion_depth, int)
    assert cfg.train.lexcmlp.steps == 100 and cfg.train.cccl is True
    assert cfg.train.temperature == 0.1 and cfg.data.specs == ("synthetic", "bvh:/x")
    assert cfg.train.triplet == "drop"
    # The original is untouched (frozen dataclasses, replaced copies).
    assert preset("tiny").model.motion_depth != 6 or preset("tiny").train.lexcmlp.steps != 100


@pytest.mark.parametrize("override, message", [
    ("model.no_such_key=1", "unknown config key 'model.no_such_key'"),
    ("nothing.x=1", "unknown config key"),
    ("train.lexmlm=3", "is a section"),
    ("train.lexmlm.steps=ten", "expected a number"),
    ("train.lexmlm.steps=1.5", "expected an integer"),
    ("train.cccl=maybe", "expected true or false"),
    ("train.triplet=sometimes", "train.triplet must be one of"),
    ("no_equals_sign", "not key=value"),
    ("train.lexmlm.enc_mask=1.5", "is a ratio in"),
    ("train.cmmm.batch_size=0", "batch_size must be >= 1"),
    ("train.checkpoint_every=0", "must be >= 1"),
])
def test_bad_overrides_are_clear_spec_errors(override, message):
    with pytest.raises(SpecError, match=message):
        apply_overrides(preset("tiny"), [override])


def test_round_trip_through_json(tmp_path):
    cfg = apply_overrides(preset("paper"), ["train.dense.batch_size=16", "data.extra_text=false"])
    again = from_dict(json.loads(json.dumps(to_dict(cfg))))
    assert again == cfg and isinstance(again, Config)
    assert isinstance(again.data.specs, tuple)
    path = save_config(cfg, tmp_path / "config.json")
    assert load_config(path) == cfg


def test_from_dict_rejects_unknown_keys_and_fills_defaults():
    data = to_dict(preset("tiny"))
    data["train"]["lexmlm"]["bogus"] = 1
    with pytest.raises(SpecError, match="bogus"):
        from_dict(data)
    partial = {"train": {"seed": 7}}
    cfg = from_dict(partial)
    assert cfg.train.seed == 7 and cfg.train.lexmlm == Config().train.lexmlm


def test_total_steps_from_epochs():
    phase = preset("paper").train.cmmm
    assert phase.total_steps(640) == 200 * 10
    assert preset("tiny").train.cmmm.total_steps(10) == preset("tiny").train.cmmm.steps


def test_checkpoint_configs_from_older_versions_load_with_a_warning():
    data = to_dict(preset("tiny"))
    data["data"]["retired_option"] = 3
    with pytest.warns(UserWarning, match="retired_option"):
        cfg = from_dict(data, strict=False)
    assert cfg == preset("tiny")
