"""`export --generation-only`: a run's generators and evaluator added to the served checkpoint they were trained
on (train --base DIR), its lexical model, index and manifest untouched; refused for another lexical model (another
text side: a model retrained on its motion side only keeps its generators)."""
import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.__main__ import main as cli_main
from engine.checkpoint import load_checkpoint, read_manifest
from engine.errors import MotionLexError, SpecError
from engine.facade import Engine
from engine.generator_checkpoint import read_generator_manifest, weights_hash
from engine.train.export import export_checkpoint, export_generation_only
from tests.test_generation_helpers import GEN_DATA, trained_run

torch.set_num_threads(1)


def test_generators_join_the_checkpoint_they_were_trained_on(tmp_path_factory, tiny_checkpoint, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run(tmp_path_factory, tiny_checkpoint), run)
    shutil.copytree(run / "sopo", run / "dpo_online")             # a research variant: stays in the run folder
    with (run / "metrics.jsonl").open("a") as log:                # ... and so do its records
        log.write(json.dumps({"phase": "dpo_online", "step": 1, "loss": 0.5}) + "\n")
    served = tmp_path / "served"
    shutil.copytree(tiny_checkpoint, served)
    manifest_before = (served / "manifest.json").read_bytes()
    weights_file = served / read_manifest(served)["weights"]
    weights_before = weights_file.read_bytes()
    lexical_records = [line for line in (served / "metrics.jsonl").read_text().splitlines() if line.strip()]

    result = export_generation_only(run, served)
    assert set(result["generation_bytes"]) == {"generator", "sopo", "evaluator"}
    assert not (served / "dpo_online").exists()
    assert (served / "manifest.json").read_bytes() == manifest_before
    assert weights_file.read_bytes() == weights_before
    assert all(t.dtype == torch.float16 for t in load_file(str(served / "sopo" / "generator.safetensors")).values()
               if t.is_floating_point())
    phases = [json.loads(line)["phase"] for line in (served / "metrics.jsonl").read_text().splitlines()]
    assert phases[:len(lexical_records)] == [json.loads(line)["phase"] for line in lexical_records]
    assert {"evaluator", "generator", "sopo"} <= set(phases) and "dpo_online" not in phases
    export_generation_only(run, served)            # again: the records are replaced, not doubled
    assert [json.loads(line)["phase"] for line in (served / "metrics.jsonl").read_text().splitlines()] == phases

    out = Engine(checkpoint=str(served), data=GEN_DATA).generate("a person walks forward", model="sopo",
                                                                  seconds=1.0, steps=2)
    assert out["frames"] == 20


def perturbed(checkpoint, folder, prefix):
    """A copy of a lexical checkpoint with one stored weight under `prefix` changed."""
    shutil.copytree(checkpoint, folder)
    weights_file = folder / read_manifest(folder)["weights"]
    tensors = load_file(str(weights_file))
    name = next(n for n, t in tensors.items() if n.startswith(prefix) and t.is_floating_point())
    tensors[name] = tensors[name] + 0.5
    save_file(tensors, str(weights_file))
    return folder


def test_another_lexical_model_is_refused_by_name(tmp_path_factory, tiny_checkpoint, tmp_path, capsys):
    run = trained_run(tmp_path_factory, tiny_checkpoint)
    other = perturbed(tiny_checkpoint, tmp_path / "other", "mlm_head.")     # another text side
    with pytest.raises(SpecError, match="another lexical model"):
        export_generation_only(run, other)
    assert not (other / "generator").exists()
    code = cli_main(["export", "--checkpoint", str(run), "--out", str(other), "--generation-only"])
    assert code == 2 and "another lexical model" in capsys.readouterr().err
    motion_side = perturbed(tiny_checkpoint, tmp_path / "motion_side", "motion_encoder.")   # the condition is the same
    assert set(export_generation_only(run, motion_side)["generation_bytes"]) == {"generator", "sopo", "evaluator"}


def test_a_lexical_model_retrained_on_its_motion_side_keeps_the_served_generators(tmp_path_factory, tiny_checkpoint,
                                                                                   tmp_path):
    served = tmp_path / "served"
    shutil.copytree(tiny_checkpoint, served)
    export_generation_only(trained_run(tmp_path_factory, tiny_checkpoint), served)
    legacy = served / "generator" / "manifest.json"     # written before condition hashes: the whole model's hash
    manifest = json.loads(legacy.read_text())
    manifest["lexical"] = {"path": str(served), "weights_hash": weights_hash(load_checkpoint(served)[0])}
    legacy.write_text(json.dumps(manifest))
    engine = Engine(checkpoint=str(served), data=GEN_DATA)
    before = engine.generate("a person walks forward", seconds=1.0, steps=2)["joints"]

    result = export_checkpoint(perturbed(tiny_checkpoint, tmp_path / "caption_tuned", "motion_decoder."), served,
                               dtype="float32")     # as the fixture stores it: the text side bit for bit
    assert result["kept_generators"] == ["generator", "sopo"] and result["stale_generators"] == []
    record = read_generator_manifest(served / "generator")["lexical"]
    assert "condition_hash" in record and "weights_hash" not in record
    after = Engine(checkpoint=str(served), data=GEN_DATA).generate("a person walks forward", seconds=1.0, steps=2)
    assert np.array_equal(after["joints"], before)    # the same condition: the same motion

    result = export_checkpoint(perturbed(tiny_checkpoint, tmp_path / "text_tuned", "mlm_head."), served)
    assert result["kept_generators"] == [] and result["stale_generators"] == ["generator", "sopo"]
    with pytest.raises(MotionLexError, match="another lexical model"):
        Engine(checkpoint=str(served), data=GEN_DATA).generate("a person walks forward", seconds=1.0, steps=2)
