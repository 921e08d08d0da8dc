"""SoPo against its baselines, scored by the independent evaluator, with the reward-hacking check.

    python bench/bench_sopo.py --data synthetic --base checkpoints/default --out runs/bench_sopo [--preset tiny]
        [--set train.sopo.steps=100 ...] [--max-prompts 64] [--no-write]

One run folder, trained phase by phase (each call resumes it, so an interrupted bench continues; --stages
picks which): the evaluator; the base generator on the lexical condition and one on the generic sentence
condition (the lexical seed's C.2 claim); from the lexical base: SoPo, offline DPO and online DPO (train.sopo.mode). Then
engine/evaluation/generation.py scores every variant on the test split with the evaluator (R-precision,
MM-Dist, FID, diversity, multimodality, physical checks; mean and 95% interval over repetitions), and for
each tuned variant the gain over its base in the reward (the lexical model's score, which the tuning
optimised) is put beside the gain the evaluator sees: a reward that rises while the evaluator's measures do
not is reward hacking. Also the reward's calibration: its distribution on dataset motions with their own
captions, with shuffled captions, and on the base generator's samples, beside tau.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from generation_tables import physical_table, rows_table  # noqa: E402
from results import machine_line, write_section  # noqa: E402

STAGES = {"evaluator": ("evaluator", []), "generator": ("generator", []),
          "sentence": ("generator", ["generator.condition=sentence"]), "sopo": ("sopo", ["train.sopo.mode=sopo"]),
          "offline": ("sopo", ["train.sopo.mode=offline"]), "online": ("sopo", ["train.sopo.mode=online"])}
TUNED = {"sopo": "base", "dpo_offline": "base", "dpo_online": "base", "generator_sentence": "base"}
WATCH = ("top1", "top3", "mm_dist", "fid", "diversity", "reward")


def reward_calibration(service, dataset, gens, clips: int = 128) -> dict:
    from engine.models.reward import lexical_reward
    from engine.models.text_to_motion import decode, generator_seed, sample

    train = dataset.split("train")[:clips]
    motions = [dataset.motion(c.id).joints for c in train]
    captions = [c.captions[0] for c in train]
    rng = np.random.default_rng(0)
    shuffled = [captions[i] for i in rng.permutation(len(captions))]
    gen = gens.generator("base")
    frames = [min(len(m) - 1, gen.train_frames) for m in motions]
    samples = []
    for a in range(0, len(captions), 32):
        cond = gens.condition(gen.config.generator.condition)(captions[a:a + 32])
        cfg = gen.config.train.sopo
        x, mask = sample(gen.model, cond, frames[a:a + 32], cfg.sampling_steps, cfg.sampling_guidance,
                         generator_seed(a), gen.config.train.generator.guidance_below)
        samples.extend(decode(x, mask, gen.normalizer))
    q = [5, 25, 50, 75, 95]
    out = {}
    for name, r in (("dataset, own caption", lexical_reward(service.model, captions, motions)),
                    ("dataset, shuffled caption", lexical_reward(service.model, shuffled, motions)),
                    ("base generator samples (SoPo's sampling steps)", lexical_reward(service.model, captions, samples))):
        out[name] = {"mean": float(r.mean()), **{f"p{p}": float(v) for p, v in zip(q, np.percentile(r, q))}}
    tuned = gens.generator("sopo").config if "sopo" in gens.variants else gen.config   # tau as SoPo trained
    out["tau"] = tuned.train.sopo.tau
    out["reward_map"] = tuned.train.sopo.reward_map
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="synthetic")
    ap.add_argument("--base", default=str(ROOT / "checkpoints" / "default"), help="lexical checkpoint")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench_sopo"))
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--max-prompts", type=int, default=None, help="test clips per repetition (default: the config's)")
    ap.add_argument("--steps", type=int, default=None, help="sampling steps at evaluation (default: the generator's)")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help=f"comma list of {', '.join(STAGES)} (trained when missing, then all evaluated)")
    ap.add_argument("--section", default="bench_sopo", help="the RESULTS.md section this run writes")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if not stages or any(s not in STAGES for s in stages):
        raise SystemExit(f"--stages: a comma list of {', '.join(STAGES)}, not {args.stages!r}")

    import torch
    torch.set_num_threads(1)
    from engine.config import preset
    from engine.config_overrides import apply_overrides
    from engine.data import open_dataset
    from engine.evaluation.generation import generation_eval
    from engine.inference.generate import GenerationService
    from engine.inference.service import ModelService
    from engine.train.run import train

    base_cfg = apply_overrides(preset(args.preset), args.overrides + [f"train.generator.base={args.base}"])
    training = {}
    for phase, sets in (STAGES[s] for s in stages):
        summary = train(apply_overrides(base_cfg, sets), [args.data], phase, args.out, resume=True)
        for name, r in summary["results"].items():
            training[name] = {k: r.get(k) for k in ("steps", "seconds", "seconds_per_step", "skipped")}
        if summary["stopped"]:
            raise SystemExit(f"training stopped ({summary['stopped']}); run the bench again to resume")
    service = ModelService(args.out)
    dataset = open_dataset(args.data)
    section = generation_eval(service, dataset, dataset.split("test"), max_prompts=args.max_prompts, steps=args.steps)
    rows = section["rows"]
    gains = {}
    for variant, reference in TUNED.items():
        if variant in rows and reference in rows:
            gains[variant] = {k: rows[variant][k]["mean"] - rows[reference][k]["mean"] for k in WATCH}
    result = {"data": args.data, "base": args.base, "out": args.out, "preset": args.preset, "stages": stages,
              "overrides": args.overrides, "training": training, "evaluation": section, "gains_over_base": gains,
              "reward_calibration": reward_calibration(service, dataset, GenerationService(service))}
    print(json.dumps(result, indent=1, default=float))
    if not args.no_write:
        write_section(args.section, markdown(result))
    return result


def markdown(r: dict) -> str:
    ev = r["evaluation"]
    lines = [f"## {', '.join(r['stages'][1:])}: scored by the independent evaluator (bench/bench_sopo.py --stages "
             f"{','.join(r['stages'])})", "",
             machine_line() + " One thread.", "",
             f"Data `{r['data']}`, lexical model `{Path(r['base']).name}`, preset {r['preset']} "
             f"{' '.join(r['overrides'])}; {ev['prompts']} test prompts x {ev['repetitions']} repetitions, "
             f"R-precision in batches of {ev['r_precision_batch']}, {ev['sampling_steps']} DDIM steps, guidance "
             f"{ev['guidance']}, output smoothing {ev.get('smoothing_frames', 0)} frames, multimodality from "
             f"{ev['multimodality']['samples']} samples of "
             f"{ev['multimodality']['prompts']} prompts. Mean ± 95% interval.", "", *rows_table(ev),
             "", "Physical checks against the data's (the generation issue's bar: 1.5x, 2 cm, 5%):", "",
             *physical_table(ev)]
    lines += ["", "Gain over the base generator (reward = the lexical model's score the tuning optimised; the "
              "rest is the evaluator's view, which training never saw):", "",
              "| variant | " + " | ".join(WATCH) + " |", "|---" * (len(WATCH) + 1) + "|"]
    for name, g in r["gains_over_base"].items():
        lines.append(f"| {name} | " + " | ".join(f"{g[k]:+.3f}" for k in WATCH) + " |")
    cal = r["reward_calibration"]
    lines += ["", f"Reward calibration (map {cal['reward_map']}, tau = {cal['tau']}):", "",
              "| motions | mean | p5 | p25 | p50 | p75 | p95 |", "|---|---|---|---|---|---|---|"]
    for name, v in cal.items():
        if isinstance(v, dict):
            lines.append(f"| {name} | " + " | ".join(f"{v[k]:.3f}" for k in ("mean", "p5", "p25", "p50", "p75", "p95"))
                         + " |")
    lines += ["", "Training: " + ", ".join(f"{n} {t['steps']} steps at {t['seconds_per_step']} s/step"
                                          for n, t in r["training"].items() if t.get("seconds_per_step"))]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
