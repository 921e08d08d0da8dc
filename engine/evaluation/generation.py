"""`eval`'s "generation" section: every generator of a checkpoint scored by the independent evaluator.

Protocol (Guo et al. 2022, as SoPo reports it; the numbers of prompts and samples are the evaluator's config,
`train.evaluator`, smaller than theirs on a CPU): per repetition, each test clip gets one of its captions at
random and a motion generated at the clip's length (capped at what the generator was trained on; the real
motion is centre-cropped to the same length); every variant starts from the same noise in a repetition.
Rows: "ground_truth" (the real test motions) first, then "base", "sopo" and any other generator folder.
Per row: R-precision top-1/2/3 in batches of 32 (fewer pairs: one batch of them, reported), MM-Dist, FID
against the real motions (0 for the real row by definition), diversity, multimodality (mm_samples motions
for each of mm_prompts prompts), the model-free physical checks, and the reward (the lexical model's score,
which SoPo optimised: its gain beside the evaluator's is the reward-hacking check). Each metric is the mean
and 95% interval over the repetitions (metrics.generation.mean_and_interval).
"""
from __future__ import annotations

import numpy as np

from ..checkpoint import read_manifest
from ..errors import MotionLexError
from ..config import from_dict
from ..inference.generate import GenerationService, Served
from ..metrics.generation import GUO_BATCH, diversity, fid, mean_and_interval, mm_dist, multimodality, r_precision
from ..metrics.physical import physical_report
from ..models.encode import encode_motions, encode_texts
from ..models.reward import lexical_reward
from ..models.text_to_motion import decode, generator_seed, sample

BATCH = 32


def _generate(gen, condition, prompts, lengths, steps, guidance, seed, served: Served) -> list[np.ndarray]:
    out = []
    for a in range(0, len(prompts), BATCH):
        cond = condition(prompts[a:a + BATCH])
        x, mask = sample(gen.model, cond, lengths[a:a + BATCH], steps, guidance, generator_seed(seed * 100_003 + a),
                         served.guidance_below)
        out.extend(decode(x, mask, gen.normalizer, served.smoothing, served.foot_lock))
    return out


def _row(text_emb, motion_emb, real_emb, motions, captions, lexical, rng, mm_emb=None) -> dict:
    batch = min(GUO_BATCH, len(text_emb))
    physical = [physical_report(j) for j in motions]
    row = {**r_precision(text_emb, motion_emb, batch_size=batch, rng=rng), "mm_dist": mm_dist(text_emb, motion_emb),
           "fid": fid(real_emb, motion_emb) if motion_emb is not real_emb else 0.0,
           "diversity": diversity(motion_emb, rng=rng),
           **{k: float(np.mean([p[k] for p in physical])) for k in physical[0]},
           "reward": float(lexical_reward(lexical, captions, motions).mean())}
    if mm_emb is not None:
        row["multimodality"] = multimodality(mm_emb, rng=rng)
    return row


def generation_eval(service, dataset, clips, progress=None, repetitions: int | None = None,
                    steps: int | None = None, max_prompts: int | None = None,
                    smoothing: float | None = None, guidance_below: int | None = None,
                    foot_lock: bool | None = None) -> dict | None:
    """The section for `service`'s checkpoint on `clips` (captioned test clips), or None without generators.
    Each generator samples, locks its feet and is smoothed as served (its train.generator.guidance_below, foot_lock
    and smoothing) unless `guidance_below`, `foot_lock` or `smoothing` is given (smoothing 0 and foot_lock False:
    the raw output)."""
    gens = GenerationService(service)
    if not gens.variants:
        return None
    evaluator = gens.evaluator()
    if evaluator is None:
        return {"skipped": f"no evaluator in {service.dir} (train one: --phases evaluator)",
                "generators": gens.available()}
    ecfg = from_dict(read_manifest(service.dir / "evaluator")["config"], strict=False).train.evaluator
    reps = max(2, repetitions or ecfg.repetitions)
    limit = max_prompts if max_prompts is not None else ecfg.max_prompts
    clips = [c for c in clips if c.captions][: limit or None]
    if len(clips) < 2:
        return {"skipped": f"{len(clips)} captioned clips; need at least 2"}
    loaded, unusable = {}, {}
    for name in gens.available():   # a generator of another lexical model is reported, not a failed eval
        try:
            loaded[name] = gens.generator(name)
        except MotionLexError as err:
            unusable[name] = str(err)
    if not loaded:
        return {"skipped": "no generator of this checkpoint can be served", "unusable": unusable}
    frames_cap = min(g.train_frames for g in loaded.values())
    real_full = [dataset.motion(c.id).joints for c in clips]
    lengths = [min(len(j) - 1, frames_cap) for j in real_full]
    real = [j[(len(j) - n) // 2:(len(j) - n) // 2 + n] for j, n in zip(real_full, lengths)]
    real_emb = encode_motions(evaluator, real, kind="dense")
    mm_n, mm_k = min(ecfg.mm_prompts, len(clips)), max(2, ecfg.mm_samples)
    served = {n: Served.of(g, guidance_below, smoothing, foot_lock) for n, g in loaded.items()}
    per_rep: dict[str, list[dict]] = {"ground_truth": [], **{n: [] for n in loaded}}
    total, done = reps * len(loaded), 0
    for rep in range(reps):
        rng = np.random.default_rng(rep)
        captions = [c.captions[int(rng.integers(len(c.captions)))] for c in clips]
        text_emb = encode_texts(evaluator, captions, kind="dense")
        per_rep["ground_truth"].append(_row(text_emb, real_emb, real_emb, real, captions, service.model,
                                            np.random.default_rng(rep)))
        for name, gen in loaded.items():
            g = gen.config.train.generator
            n_steps = steps or g.sampling_steps
            condition = gens.condition(gen.config.generator.condition)
            motions = _generate(gen, condition, captions, lengths, n_steps, g.guidance, rep, served[name])
            mm_prompts = [p for p in captions[:mm_n] for _ in range(mm_k)]
            mm_motions = _generate(gen, condition, mm_prompts, [n for n in lengths[:mm_n] for _ in range(mm_k)],
                                   n_steps, g.guidance, 1000 + rep, served[name])
            mm_emb = encode_motions(evaluator, mm_motions, kind="dense").reshape(mm_n, mm_k, -1)
            per_rep[name].append(_row(text_emb, encode_motions(evaluator, motions, kind="dense"), real_emb, motions,
                                      captions, service.model, np.random.default_rng(rep), mm_emb))
            done += 1
            if progress:
                progress(done, total, "generation")
    rows = {name: _aggregate(values) for name, values in per_rep.items() if values}
    first = next(iter(loaded.values())).config
    shown = next(iter(served.values()))
    return {"rows": rows, "order": list(rows), "repetitions": reps, "prompts": len(clips),
            "r_precision_batch": min(GUO_BATCH, len(clips)), "multimodality": {"prompts": mm_n, "samples": mm_k},
            "sampling_steps": steps or first.train.generator.sampling_steps,
            "guidance": first.train.generator.guidance, "max_frames": frames_cap,
            "guidance_below": shown.guidance_below, "smoothing_frames": shown.smoothing,
            "foot_lock": {n: s.foot_lock for n, s in served.items()},
            "evaluator": str(service.dir / "evaluator"),
            "reward": "the lexical model's text-motion cosine (SoPo's reward; not the evaluator)",
            "fid_reference": "the real test motions (centre-cropped to the generated lengths)",
            **({"unusable": unusable} if unusable else {})}


def _aggregate(values: list[dict]) -> dict:
    out = {}
    for key in values[0]:
        mean, interval = mean_and_interval([v[key] for v in values])
        out[key] = {"mean": mean, "interval": interval}
    return out
