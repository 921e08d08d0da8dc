"""Run phases in order: `train(config, specs, phases, out_dir, ...) -> summary`.

out_dir/
    metrics.jsonl          every logged step of every phase (the app plots it)
    <phase>/               each phase's checkpoint (mid-phase ones carry a resume state)
    manifest.json, model-*.safetensors, config.json     the final model, once every phase is done
    evaluator/, generator/, sopo/, ...   the generation phases (train/generation_run.py), after the
                           lexical ones and conditioned on the final lexical model
With `resume`, a phase whose checkpoint is complete is skipped (its weights are loaded), a phase
with a mid-phase checkpoint continues from its step, and the rest run as usual.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import torch

from ..config import ALL_PHASES, DEFAULT_PHASES, GENERATION_PHASES, Config
from ..errors import SpecError
from . import distributed
from .batching import Batcher, text_corpus
from ..checkpoint import MANIFEST, build_model, load_weights, read_manifest
from .checkpoint import load_train_state, save_checkpoint
from .run_state import truncate_metrics, window_data_config
from .generation_run import phase_folder, run_generation_phases
from .dataset_shares import shared_stream
from .hard_negatives import hard_negative_stream
from .loop import PhaseRun, train_phase
from .phases import make_phase


def parse_phases(text: str | list[str]) -> list[str]:
    names = text if isinstance(text, list) else [p.strip().lower() for p in text.split(",") if p.strip()]
    if names == ["all"]:
        return list(DEFAULT_PHASES)
    unknown = [n for n in names if n not in ALL_PHASES]
    if unknown or not names:
        raise SpecError(f"unknown phase(s) {', '.join(unknown) or '(none)'}; expected all or a comma list of "
                        f"{', '.join(ALL_PHASES)}")
    return names


def open_data(specs: list[str]):
    from ..data import open_dataset
    return open_dataset(",".join(specs))


def train(config: Config, specs: list[str] | None, phases: str | list[str], out_dir: str | Path,
          resume: bool = False, max_minutes: float | None = None, progress=None) -> dict:
    began = time.time()
    names = parse_phases(phases)
    specs = list(specs or config.data.specs)
    config = replace(config, data=replace(config.data, specs=tuple(specs)))   # saved with the checkpoints
    out = Path(out_dir)
    generation = [n for n in names if n in GENERATION_PHASES]
    names = [n for n in names if n not in GENERATION_PHASES]
    if not resume and _previous_run(out, config, names, generation):
        raise SpecError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")
    info = distributed.setup()
    if generation and info.enabled:
        raise SpecError("the generation phases (evaluator, generator, sopo) run in one process; "
                        "start them without torchrun")
    device = distributed.device_for(info)
    _check_batch_sizes(config, names, info)
    torch.manual_seed(config.train.seed)

    dataset = open_data(specs)
    train_clips = dataset.split("train")
    if not train_clips:
        raise SpecError(f"dataset {','.join(specs)!r} has no training clips")
    fingerprint = dataset.fingerprint()
    model = None
    inherited = []   # the phases an --init checkpoint had done, listed in this run's manifest before its own
    if names and config.train.init:
        model, config, inherited = _initial_model(config)
        model = model.to(device)
    elif names:
        lexicon_texts = text_corpus(train_clips, config.data) if config.model.lexicon == "restricted" else None
        model = build_model(config, lexicon_texts).to(device)
    deadline = None if max_minutes is None else began + 60.0 * max_minutes
    metrics_path = out / "metrics.jsonl"

    done, results, stopped = [], {}, None
    for name in names:
        phase_dir = out / name
        phase = make_phase(name, config.train)
        state = None
        if resume and (phase_dir / MANIFEST).exists():
            manifest = read_manifest(phase_dir)
            if not manifest["complete"]:
                phase.starting_weights(model)
            load_weights(model, phase_dir, manifest)
            model.to(device)
            if manifest["complete"]:
                done.append(name)
                results[name] = {"skipped": "already done", "steps": manifest["step"], "final": manifest["metrics"]}
                continue
            state = load_train_state(phase_dir, manifest)
            if info.is_main:
                truncate_metrics(metrics_path, name, manifest["step"])
        else:
            phase.starting_weights(model)
            if resume and info.is_main:   # records of an earlier attempt whose checkpoint is gone
                truncate_metrics(metrics_path, name, 0)
        phase_cfg = config.train.phase(name)
        batcher = Batcher(phase.batch_kind, dataset, train_clips, window_data_config(config), phase_cfg.batch_size,
                          config.train.seed, name, model.tokenize, info)
        total = phase_cfg.total_steps(batcher.num_items)
        if config.data.shares and phase.batch_kind != "text":
            batcher.stream = shared_stream(batcher.clips, config.data.share_map(), config.train.seed, name,
                                           phase_cfg.batch_size)
        if getattr(phase_cfg, "hard_negatives", 0.0) > 0:
            batcher.stream = hard_negative_stream(model, batcher, phase_cfg.hard_negatives, phase_dir,
                                                  resumed=state is not None, save=info.is_main)
        phase.training_clips(batcher.clips)
        run = PhaseRun(cfg=config, batcher=batcher, total_steps=total, out_dir=phase_dir,
                       metrics_path=metrics_path, device=device, dist=info, phases_done=list(done),
                       data_fingerprint=fingerprint, deadline=deadline, resume_state=state, progress=progress)
        result = train_phase(model, phase, run)
        results[name] = {"steps": result.steps_done, "total_steps": total, "complete": result.complete,
                         "seconds": round(result.seconds, 1), "seconds_per_step": round(result.seconds_per_step, 4),
                         "final": result.last_terms, "items": batcher.num_items}
        if not result.complete:
            stopped = result.stopped or "stopped"
            break
        done.append(name)

    final = None
    if names and not stopped and info.is_main:
        final = save_checkpoint(out, model.eval(), config, phases_done=[p for p in inherited if p not in done] + done,
                                phase=None, step=0, complete=True,
                                data_fingerprint=fingerprint,
                                metrics={n: r.get("final", {}) for n, r in results.items()})
        final = str(final)
    if generation and not stopped:
        more, stopped = run_generation_phases(config, generation, dataset, train_clips, out, lexical_model=model,
                                              resume=resume, deadline=deadline, progress=progress, device=device,
                                              fingerprint=fingerprint)
        results.update(more)
        done += [n for n in more if more[n].get("complete", True)]
        final = str(out) if (out / MANIFEST).exists() and not stopped else final
    distributed.teardown(info)
    return {"phases": names + generation, "phases_done": done, "stopped": stopped,
            "results": results, "seconds": round(time.time() - began, 1), "checkpoint": final,
            "resume_from": None if not stopped else str(out), "device": str(device), "world_size": info.world,
            "rank": info.rank,
            "data": ",".join(specs), "data_fingerprint": fingerprint, "train_clips": len(train_clips)}


def _previous_run(out: Path, config: Config, names: list[str], generation: list[str]) -> bool:
    """Whether `out` already holds what this call would write (lexical phases: any lexical checkpoint;
    generation phases: their own folders, so they may be added to a finished lexical run)."""

    if names and any(p.exists() for p in [out / MANIFEST] + [out / n / MANIFEST for n in ALL_PHASES]):
        return True
    return any((out / phase_folder(n, config) / MANIFEST).exists() for n in generation)


def _initial_model(config: Config):
    """(model, config, phases it had done) for a run that starts from train.init: that checkpoint's weights,
    lexicon and model config (the architecture must be the one its weights fit)."""
    from ..checkpoint import load_checkpoint
    if not (Path(config.train.init) / MANIFEST).exists():
        raise SpecError(f"train.init={config.train.init!r} is not a checkpoint folder (no {MANIFEST})")
    model, init_config, manifest = load_checkpoint(config.train.init)
    return model, replace(config, model=init_config.model), list(manifest.get("phases_done") or [])


def _check_batch_sizes(config: Config, names: list[str], info) -> None:
    for name in names:
        size = config.train.phase(name).batch_size
        if size % info.world:
            raise SpecError(f"train.{name}.batch_size={size} must divide by the {info.world} DDP processes")
