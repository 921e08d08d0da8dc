"""Generation speed on the CPU: one served clip, a batch of 32, peak memory.

    python bench/bench_generation.py --checkpoint checkpoints/default [--model base] [--no-write]

On one thread: a 3 s clip with 50 DDIM steps and guidance 2.5 as served (Engine.generate, end to end:
condition, sampling, decoding, reward and evaluator scores, physical checks), p50/p95 over 20 clips of
different prompts and seeds (target p50 <= 0.5 s); clips per second when 32 clips are sampled in one batch
(condition + sampling + decoding); the process's peak resident memory (resource.getrusage). Prints JSON and
writes its section of bench/RESULTS.md. A checkpoint without generators is reported and skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from results import machine_line, write_section  # noqa: E402

PROMPTS = ["a person walks forward", "a person waves the left hand", "a person jumps on the spot",
           "a person turns left and walks", "a person punches with the right arm", "a person squats down",
           "someone runs forward quickly", "a person kicks with the left leg", "a person raises both arms",
           "a person walks backwards slowly"]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    ap.add_argument("--model", default="base")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=2.5)
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(1)
    from engine.facade import Engine
    from engine.inference.generate import Served
    from engine.models.text_to_motion import decode, generator_seed, sample

    engine = Engine(checkpoint=args.checkpoint)
    gens = engine.generation()
    if not gens.variants:
        result = {"checkpoint": args.checkpoint, "skipped": "the checkpoint has no generator"}
        print(json.dumps(result, indent=1))
        return result
    seconds = min(args.seconds, gens.generator(args.model).train_frames / 20)
    run = lambda i: engine.generate(PROMPTS[i % len(PROMPTS)], args.model, seconds, i, args.steps,  # noqa: E731
                                    args.guidance)
    run(0)   # warm-up: loads the generator and the evaluator
    served = [run(i) for i in range(args.clips)]
    total = [r["timings"]["total_s"] for r in served]
    sampling = [r["timings"]["sampling_s"] for r in served]

    gen = gens.generator(args.model)
    condition = gens.condition(gen.config.generator.condition)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.batch)]
    frames = int(round(seconds * 20))
    began = time.perf_counter()
    served = Served.of(gen)
    with torch.no_grad():
        x, mask = sample(gen.model, condition(prompts), [frames] * args.batch, args.steps, args.guidance,
                         generator_seed(0), served.guidance_below)
        decode(x, mask, gen.normalizer, served.smoothing, served.foot_lock)
    batch_s = time.perf_counter() - began

    result = {"checkpoint": args.checkpoint, "model": args.model, "variant": gen.variant,
              "network": {k: getattr(gen.model.cfg, k) for k in ("width", "depth", "heads", "ff")},
              "parameters_M": round(sum(p.numel() for p in gen.model.parameters()) / 1e6, 2),
              "seconds": seconds, "frames": frames, "steps": args.steps, "guidance": args.guidance,
              "clips": args.clips, "served_p50_s": round(float(np.percentile(total, 50)), 4),
              "served_p95_s": round(float(np.percentile(total, 95)), 4),
              "sampling_p50_s": round(float(np.percentile(sampling, 50)), 4),
              "batch": args.batch, "batch_s": round(batch_s, 3), "clips_per_s": round(args.batch / batch_s, 2),
              "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "target_p50_s": 0.5}
    print(json.dumps(result, indent=1))
    if not args.no_write:
        write_section("bench_generation", markdown(result))
    return result


def markdown(r: dict) -> str:
    n = r["network"]
    return "\n".join([
        "## Text-to-motion generation speed (bench/bench_generation.py)", "", machine_line() + " One thread.", "",
        f"Checkpoint `{Path(r['checkpoint']).name}`, generator `{r['variant']}` (width {n['width']}, depth "
        f"{n['depth']}, ff {n['ff']}; {r['parameters_M']} M parameters): {r['seconds']} s clips ({r['frames']} "
        f"frames), {r['steps']} DDIM steps, guidance {r['guidance']}.", "",
        "| measure | value |", "|---|---|",
        f"| one clip as served (condition, sampling, decoding, reward, evaluator, physical checks), p50 over "
        f"{r['clips']} | {r['served_p50_s']} s (target <= {r['target_p50_s']} s) |",
        f"| the same, p95 | {r['served_p95_s']} s |",
        f"| its sampling alone, p50 | {r['sampling_p50_s']} s |",
        f"| {r['batch']} clips in one batch | {r['batch_s']} s = {r['clips_per_s']} clips/s |",
        f"| peak resident memory of the process | {r['peak_rss_MB']} MB |"])


if __name__ == "__main__":
    main()
