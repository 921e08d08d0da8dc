"""The generation phases of a run, after its lexical ones: `evaluator`, `generator`, `sopo` (in that order).

    <run>/evaluator/     the separate retrieval model that scores generations (lexical-format checkpoint)
    <run>/generator/     the base generator (generator_sentence/ with generator.condition=sentence)
    <run>/sopo/          SoPo-tuned from it (dpo_offline/, dpo_online/ for train.sopo.mode=offline|online)
The generator is conditioned on the run's lexical model, frozen: the one the lexical phases of the same call
just trained, else `train.generator.base` (`--base DIR`; its files are copied into the run folder so that
the run is a servable checkpoint folder), else the complete lexical checkpoint already in the run folder.
Each generator manifest records that model's path and condition_hash (engine/generator_checkpoint.py); resuming,
SoPo and serving check it.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import torch

from ..checkpoint import MANIFEST, build_model, load_checkpoint, load_weights, read_manifest
from ..config import GENERATION_PHASES, Config
from ..errors import SpecError
from ..generator_checkpoint import (condition_hash, conditioned_on, lexical_record, load_generator,
                                    load_generator_weights, read_generator_manifest, weights_hash)
from ..models.text_condition import TextCondition
from ..motion_io.features263 import Normalizer
from .batching import Batcher, text_corpus
from .checkpoint import load_train_state
from .feature_data import FeatureClips
from .generation_loop import GenerationRun, train_generation_phase
from .loop import PhaseRun, train_phase
from .phases import make_phase
from .phases.generator import GeneratorPhase, generator_folder
from .phases.sopo import SopoPhase, sopo_folder
from .run_state import truncate_metrics, window_data_config


def phase_folder(name: str, cfg: Config) -> str:
    return {"generator": generator_folder, "sopo": sopo_folder}.get(name, lambda _: name)(cfg)


def lexical_source(config: Config, out: Path, model=None, device="cpu"):
    """(lexical model, its lexical_record) the generator phases condition on (module docstring)."""
    if model is not None:
        return model, lexical_record(model, out)
    base = config.train.generator.base
    if base:
        base_dir = Path(base).expanduser()
        model = load_checkpoint(base_dir, device)[0]
        if not (out / MANIFEST).exists():
            _copy_checkpoint(base_dir, out)
        elif base_dir.resolve() != out.resolve() and condition_hash(load_checkpoint(out)[0]) != condition_hash(model):
            raise SpecError(f"{out} already holds another lexical model than --base {base_dir}; "
                            "train into a new folder or drop --base")
        return model, lexical_record(model, base_dir)
    if (out / MANIFEST).exists():
        model = load_checkpoint(out, device)[0]
        return model, lexical_record(model, out)
    raise SpecError("the generator phases need a lexical model: train the lexical phases in the same run, "
                    "pass --base DIR (a checkpoint folder such as checkpoints/default), or train into a "
                    "folder that holds one")


def _copy_checkpoint(src: Path, dst: Path) -> None:
    manifest = read_manifest(src)
    dst.mkdir(parents=True, exist_ok=True)
    for name in (manifest["weights"], "config.json"):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    shutil.copyfile(src / MANIFEST, dst / (MANIFEST + ".tmp"))
    (dst / (MANIFEST + ".tmp")).replace(dst / MANIFEST)   # last: the commit point


def run_generation_phases(config: Config, names: list[str], dataset, train_clips, out: Path, *, lexical_model,
                          resume: bool, deadline, progress, device, fingerprint) -> tuple[dict, str | None]:
    """Train the requested generation phases; -> ({phase: result}, why it stopped or None)."""
    results, stopped, lexical = {}, None, None
    for name in [n for n in GENERATION_PHASES if n in names]:
        if name == "evaluator":
            result = _evaluator(config, dataset, train_clips, out, resume, deadline, progress, device, fingerprint)
        else:
            if lexical is None:
                lexical = lexical_source(config, out, lexical_model, device)
            make = _generator if name == "generator" else _sopo
            result = make(config, dataset, train_clips, out, lexical, resume, deadline, progress, device, fingerprint)
        results[phase_folder(name, config)] = result
        if result.get("complete") is False:
            stopped = result.get("stopped") or "stopped"
            break
    return results, stopped


def _summary(result, total, items) -> dict:
    return {"steps": result.steps_done, "total_steps": total, "complete": result.complete,
            "seconds": round(result.seconds, 1), "seconds_per_step": round(result.seconds_per_step, 4),
            "final": result.last_terms, "items": items, "stopped": result.stopped}


def _resume_state(folder: Path, resume: bool, metrics: Path, log_name: str, read):
    """(manifest or None, train state or None); a complete manifest means "skip"."""

    if resume and (folder / MANIFEST).exists():
        manifest = read(folder)
        if not manifest["complete"]:
            truncate_metrics(metrics, log_name, manifest["step"])
            return manifest, load_train_state(folder, manifest)
        return manifest, None
    if resume:
        truncate_metrics(metrics, log_name, 0)
    return None, None


def _evaluator(config, dataset, train_clips, out, resume, deadline, progress, device, fingerprint) -> dict:

    ecfg = config.train.evaluator
    cfg = replace(config, train=replace(config.train, seed=ecfg.seed))
    folder, metrics = out / "evaluator", out / "metrics.jsonl"
    manifest, state = _resume_state(folder, resume, metrics, "evaluator", read_manifest)
    if manifest is not None and manifest["complete"]:
        return {"skipped": "already done", "steps": manifest["step"], "final": manifest["metrics"]}
    torch.manual_seed(ecfg.seed)
    texts = text_corpus(train_clips, cfg.data) if cfg.model.lexicon == "restricted" else None
    model = build_model(cfg, texts).to(device)
    if manifest is not None:
        load_weights(model, folder, manifest)
    batcher = Batcher("pair", dataset, train_clips, window_data_config(cfg), ecfg.batch_size, ecfg.seed, "evaluator",
                      model.tokenize)
    total = ecfg.total_steps(batcher.num_items)
    run = PhaseRun(cfg=cfg, batcher=batcher, total_steps=total, out_dir=folder, metrics_path=metrics, device=device,
                   data_fingerprint=fingerprint, deadline=deadline, resume_state=state, progress=progress)
    return _summary(train_phase(model, make_phase("evaluator", cfg.train), run), total, batcher.num_items)


def _check_lexical(manifest: dict, lexical: dict, folder: Path) -> None:
    if not conditioned_on(manifest["lexical"], lexical[0]):
        raise SpecError(f"{folder} was conditioned on another lexical model ({manifest['lexical'].get('path')}) "
                        f"than this run's ({lexical[1]['path']}); train it again into a new folder")


def _generation_run(config, total, folder, out, state, deadline, progress) -> GenerationRun:
    return GenerationRun(cfg=config, total_steps=total, out_dir=folder, metrics_path=out / "metrics.jsonl",
                         seed=config.train.seed, checkpoint_every=config.train.checkpoint_every,
                         log_every=config.train.log_every, deadline=deadline, resume_state=state,
                         progress=progress)


def _generator(config, dataset, train_clips, out, lexical, resume, deadline, progress, device, fingerprint):
    model, info = lexical
    if config.generator.cond_dim != model.hidden:
        raise SpecError(f"generator.cond_dim ({config.generator.cond_dim}) must equal the text encoder's "
                        f"width ({model.hidden})")
    folder = out / generator_folder(config)
    manifest, state = _resume_state(folder, resume, out / "metrics.jsonl", folder.name, read_generator_manifest)
    if manifest is not None:
        _check_lexical(manifest, lexical, folder)
        if manifest["complete"]:
            return {"skipped": "already done", "steps": manifest["step"], "final": manifest["metrics"]}
    gcfg = config.train.generator
    normalizer = Normalizer.from_dict(manifest["normalizer"]) if manifest is not None else None
    data = FeatureClips(dataset, train_clips, gcfg.train_frames, config.data.min_frames, normalizer)
    phase = GeneratorPhase(config, TextCondition(model, config.generator.condition), data, device, info, fingerprint)
    phase.name = folder.name
    if manifest is not None:
        load_generator_weights(phase.policy, folder, manifest)
    total = gcfg.total_steps(len(data))
    result = train_generation_phase(phase, _generation_run(config, total, folder, out, state, deadline, progress))
    return _summary(result, total, len(data))


def _sopo(config, dataset, train_clips, out, lexical, resume, deadline, progress, device, fingerprint):
    model, info = lexical
    base_dir = out / generator_folder(config)
    if not (base_dir / MANIFEST).exists() or not read_generator_manifest(base_dir)["complete"]:
        raise SpecError(f"SoPo tunes a trained generator and {base_dir} holds none; run the generator phase first")
    base = load_generator(base_dir, device)
    _check_lexical(base.manifest, lexical, base_dir)
    config = replace(config, generator=base.config.generator)   # the network is the base's
    folder = out / sopo_folder(config)
    manifest, state = _resume_state(folder, resume, out / "metrics.jsonl", folder.name, read_generator_manifest)
    if manifest is not None and manifest["complete"]:
        return {"skipped": "already done", "steps": manifest["step"], "final": manifest["metrics"]}
    data = FeatureClips(dataset, train_clips, base.train_frames, config.data.min_frames, base.normalizer)
    reference = {"path": str(base_dir), "weights_hash": weights_hash(base.model)}
    phase = SopoPhase(config, TextCondition(model, config.generator.condition), base, data, model, device, info,
                      reference, fingerprint)
    phase.name = folder.name
    if manifest is not None:
        load_generator_weights(phase.policy, folder, manifest)
    total = config.train.sopo.total_steps(len(data))
    result = train_generation_phase(phase, _generation_run(config, total, folder, out, state, deadline, progress))
    return _summary(result, total, len(data))
