"""`export --generation-only`: a run's generators and evaluator added to the served checkpoint they were trained
on (train --base DIR), its lexical model, index and manifest untouched; refused for another lexical model."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.__main__ import main as cli_main
from engine.checkpoint import read_manifest
from engine.errors import SpecError
from engine.facade import Engine
from engine.train.export import export_generation_only
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


def test_another_lexical_model_is_refused_by_name(tmp_path_factory, tiny_checkpoint, tmp_path, capsys):
    run = trained_run(tmp_path_factory, tiny_checkpoint)
    other = tmp_path / "other"
    shutil.copytree(tiny_checkpoint, other)
    weights_file = other / read_manifest(other)["weights"]
    tensors = load_file(str(weights_file))
    name = next(n for n, t in tensors.items() if n.startswith("motion_encoder.") and t.is_floating_point())
    tensors[name] = tensors[name] + 0.5
    save_file(tensors, str(weights_file))
    with pytest.raises(SpecError, match="another lexical model"):
        export_generation_only(run, other)
    assert not (other / "generator").exists()
    code = cli_main(["export", "--checkpoint", str(run), "--out", str(other), "--generation-only"])
    assert code == 2 and "another lexical model" in capsys.readouterr().err
