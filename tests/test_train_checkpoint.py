"""Checkpoints: frozen weights not stored, round trip, atomicity under a crash, base-hash refusal."""
import json

import pytest
import torch
from safetensors.torch import load_file

import engine.checkpoint as loading
import engine.train.checkpoint as ckpt
from engine.errors import InputError
from tests.test_train_helpers import small_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_and_cfg():
    cfg = small_config()
    torch.manual_seed(0)
    model = loading.build_model(cfg, ["a person walks forward", "someone waves the left hand"])
    return model, cfg


def _perturb(model, value):
    with torch.no_grad():
        model.motion_encoder.mask_token.fill_(value)


def test_frozen_weights_are_not_stored_and_round_trip(tmp_path, model_and_cfg):
    model, cfg = model_and_cfg
    _perturb(model, 0.25)
    ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=["cmmm"], phase="cmmm", step=3)
    manifest = loading.read_manifest(tmp_path)
    stored = load_file(str(tmp_path / manifest["weights"]))
    frozen = set(model.frozen_parameter_names())
    assert frozen and not frozen & set(stored)                  # base weights are re-loaded, not stored
    assert "text_backbone.encoder.layer.5.output.dense.weight" in stored   # a trained text layer is
    assert manifest["versions"]["torch"] == torch.__version__.split("+")[0] or manifest["versions"]["torch"]
    assert manifest["phases_done"] == ["cmmm"] and manifest["step"] == 3 and manifest["base_text_hash"]
    loaded, cfg2, _ = loading.load_checkpoint(tmp_path)
    assert cfg2 == cfg
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_crash_mid_write_leaves_the_previous_checkpoint(tmp_path, model_and_cfg, monkeypatch):
    model, cfg = model_and_cfg
    _perturb(model, 1.0)
    ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase="cmmm", step=1)
    _perturb(model, 2.0)

    def exploding_save(tensors, metadata=None):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(ckpt, "save", exploding_save)           # crash while writing the weights
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase="cmmm", step=2)
    monkeypatch.undo()
    real_json = ckpt.atomic_write_json

    def crash_before_manifest(path, obj):
        if path.name == ckpt.MANIFEST:
            raise KeyboardInterrupt("killed between the weights and the manifest (simulated)")
        return real_json(path, obj)
    monkeypatch.setattr(ckpt, "atomic_write_json", crash_before_manifest)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase="cmmm", step=3)
    monkeypatch.undo()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]    # no temporary files left
    loaded, _, manifest = loading.load_checkpoint(tmp_path)
    assert manifest["step"] == 1
    assert torch.all(loaded.motion_encoder.mask_token == 1.0)
    # The next good save cleans up the orphan weights of the interrupted one.
    ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase="cmmm", step=4)
    assert len(list(tmp_path.glob("model-*.safetensors"))) == 1


def test_mismatched_base_model_is_refused(tmp_path, model_and_cfg):
    model, cfg = model_and_cfg
    ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase=None, step=0)
    path = tmp_path / ckpt.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["base_text_hash"] = "0" * 64
    path.write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="base text model does not match"):
        loading.load_checkpoint(tmp_path)


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no manifest.json"):
        loading.load_checkpoint(tmp_path)


def test_train_state_loads_with_weights_only(tmp_path, model_and_cfg):
    model, cfg = model_and_cfg
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad][:3], lr=1e-3)
    loss = sum(p.sum() for g in opt.param_groups for p in g["params"])
    loss.backward()
    opt.step()
    state = {"optimizer": opt.state_dict(), "step": 5, "rng": ckpt.rng_state()}
    ckpt.save_checkpoint(tmp_path, model, cfg, phases_done=[], phase="lexmlm", step=5, complete=False,
                         train_state=state)
    manifest = loading.read_manifest(tmp_path)
    back = ckpt.load_train_state(tmp_path, manifest)            # torch.load(weights_only=True)
    assert back["step"] == 5 and torch.equal(back["rng"]["torch"], state["rng"]["torch"])
    ckpt.set_rng_state(back["rng"])


def test_a_fitted_caption_head_round_trips_and_a_bad_one_is_refused(tmp_path):
    """The head has no tensors until caption tuning fits it: checkpoints without one load unfitted."""
    cfg = small_config()
    model = loading.build_model(cfg, ["a person walks forward", "someone waves the left hand"])
    ckpt.save_checkpoint(tmp_path / "before", model, cfg, phases_done=[], phase=None, step=0)
    assert not loading.load_checkpoint(tmp_path / "before")[0].caption_head.fitted
    n = len(model.lexicon)
    down, up = torch.randn(n, 4), torch.randn(4, n)
    model.caption_head.set_map(down, up)
    ckpt.save_checkpoint(tmp_path / "after", model, cfg, phases_done=["caption"], phase=None, step=0)
    head = loading.load_checkpoint(tmp_path / "after")[0].caption_head
    assert head.fitted and torch.equal(head.down, down) and torch.equal(head.up, up)
    manifest = loading.read_manifest(tmp_path / "after")
    weights = tmp_path / "after" / manifest["weights"]
    tensors = load_file(str(weights))
    tensors["caption_head.up"] = tensors["caption_head.up"][:, :-1].contiguous()
    from safetensors.torch import save_file
    save_file(tensors, str(weights), metadata={"format": ckpt.FORMAT})
    with pytest.raises(InputError, match=r"caption head factors must be \(L, r\) and \(r, L\)"):
        loading.load_checkpoint(tmp_path / "after")
