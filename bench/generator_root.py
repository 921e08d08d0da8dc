"""The generators' root motion against the data's: can a generator reproduce its clips' root block, and do its
walks move as fast as the data's walks?

    python bench/generator_root.py --checkpoint DIR [--data synthetic] [--clips 64] [--samples 4]
        [--guidance-below T] [--threads 1] [--section NAME] [--no-write]

DIR holds a lexical model and any number of generator folders (as for compare_generators.py). Per generator:
1. Denoising error by feature block on validation clips (their first caption, the first 60 frames): the mean
   squared error of x0_hat in normalised units at t = 100 (abar 0.97, nearly clean input) and t = 500. About 1
   is what predicting the training mean costs. A generator that cannot reproduce the root block from nearly
   clean input decodes root trajectories unrelated to what its legs do, which shows as foot skating.
2. Locomotion by kind (walk, walk backwards, side step, jog, run: the test clips made of that one primitive):
   the mean horizontal root speed in m/s and GMD's skating ratio of the real clips beside `samples` generated
   motions per clip (its first caption, its length, sampling and smoothing as served, guidance in the interval
   `--guidance-below` when given). Procedural labels name the primitive; other data is skipped for this part.
Prints JSON and writes a section of bench/RESULTS.md (default: generator_root).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_generators import common_arguments, open_checkpoint  # noqa: E402
from results import machine_line, write_section  # noqa: E402

BLOCKS = {"root yaw velocity": slice(0, 1), "root xz velocity": slice(1, 3), "root height": slice(3, 4),
          "ric": slice(4, 67), "rotations": slice(67, 193), "velocities": slice(193, 259), "contacts": slice(259, 263)}
NOISE_STEPS = (100, 500)
LOCOMOTION = ("walk", "walk_backwards", "side_step_left", "side_step_right", "jog", "run")
WINDOW = 60


def block_errors(gen, condition, dataset, clips, seed: int = 0) -> dict:
    """{t: {block: mean squared error}} of the generator's x0 prediction from q_sample(x0, t)."""
    import torch

    from engine.models.text_to_motion import frame_mask
    from engine.motion_io.features263 import joints_to_features

    clips = [c for c in clips if c.frames > WINDOW]
    x0 = torch.tensor(np.stack([gen.normalizer.normalize(joints_to_features(dataset.motion(c.id).joints))[:WINDOW]
                                for c in clips]), dtype=torch.float32)
    cond = condition([c.captions[0] for c in clips])
    mask = frame_mask(torch.full((len(clips),), WINDOW))
    keep = torch.zeros(len(clips), dtype=torch.bool)
    model = gen.model.eval()
    out = {}
    for t in NOISE_STEPS:
        steps = torch.full((len(clips),), t)
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed + t))
        with torch.no_grad():
            x0_hat = model.denoiser.denoise(model.schedule.q_sample(x0, steps, noise), steps, cond, keep, mask)
        err = (x0_hat - x0).square().mean((0, 1))
        out[t] = {name: float(err[s].mean()) for name, s in BLOCKS.items()}
    return out


def root_speed(joints) -> float:
    """Mean horizontal speed of the root (joint 0) in m/s at 20 fps."""
    j = np.asarray(joints, dtype=np.float64)
    return float(np.linalg.norm(np.diff(j[:, 0, [0, 2]], axis=0), axis=-1).mean() * 20.0)


def locomotion(gens, name, dataset, clips, samples: int, guidance_below) -> dict:
    import torch

    from engine.inference.generate import Served
    from engine.metrics.physical import foot_skating_ratio
    from engine.models.text_to_motion import decode, generator_seed, sample

    gen = gens.generator(name)
    g = gen.config.train.generator
    condition = gens.condition(gen.config.generator.condition)
    served = Served.of(gen, guidance_below)
    out = {}
    for kind in LOCOMOTION:
        chosen = [c for c in clips if (c.label or {}).get("primitives") == [kind]]
        if not chosen:
            continue
        real = [np.asarray(dataset.motion(c.id).joints)[:gen.train_frames + 1] for c in chosen]
        prompts = [c.captions[0] for c in chosen for _ in range(samples)]
        lengths = [len(r) - 1 for r in real for _ in range(samples)]
        made = []
        for a in range(0, len(prompts), 32):
            with torch.no_grad():
                x, mask = sample(gen.model, condition(prompts[a:a + 32]), lengths[a:a + 32], g.sampling_steps,
                                 g.guidance, generator_seed(a), served.guidance_below)
            made.extend(decode(x, mask, gen.normalizer, served.smoothing, served.foot_lock))
        out[kind] = {"clips": len(chosen),
                     "speed_real": float(np.mean([root_speed(r) for r in real])),
                     "speed_generated": float(np.mean([root_speed(m) for m in made])),
                     "skating_real": float(np.mean([foot_skating_ratio(r) for r in real])),
                     "skating_generated": float(np.mean([foot_skating_ratio(m) for m in made]))}
    return out


def main(argv=None) -> dict:
    ap = common_arguments(__doc__, "generator_root")
    ap.add_argument("--clips", type=int, default=64, help="validation clips for the denoising errors")
    ap.add_argument("--samples", type=int, default=4, help="generated motions per locomotion test clip")
    args = ap.parse_args(argv)
    from engine.inference.generate import GenerationService, Served

    service, dataset = open_checkpoint(args)
    gens = GenerationService(service)
    val = [c for c in dataset.split("val") if c.captions][:args.clips]
    test = [c for c in dataset.split("test") if c.captions]
    result = {"checkpoint": args.checkpoint, "data": args.data, "threads": args.threads,
              "guidance_below": args.guidance_below, "generators": {}}
    for name in gens.available():
        gen = gens.generator(name)
        condition = gens.condition(gen.config.generator.condition)
        result["generators"][name] = {
            "geometry": gen.config.train.generator.geometry,
            "guidance_below": Served.of(gen, args.guidance_below).guidance_below,
            "denoising_error": block_errors(gen, condition, dataset, val),
            "locomotion": locomotion(gens, name, dataset, test, args.samples, args.guidance_below)}
    print(json.dumps(result, indent=1))
    if not args.no_write:
        write_section(args.section, markdown(result))
    return result


def markdown(r: dict) -> str:
    lines = [f"### The generators' root motion ({r['data']})", "",
             f"`python bench/generator_root.py --checkpoint {r['checkpoint']}`"
             + (f" `--guidance-below {r['guidance_below']}`" if r["guidance_below"] is not None else "")
             + f"; {r['threads']} thread(s). {machine_line()}", "",
             "Denoising error by feature block (validation clips, normalised units; ~1 = predicting the mean):", "",
             "| generator | t | " + " | ".join(BLOCKS) + " |", "|---|---|" + "---|" * len(BLOCKS)]
    for name, g in r["generators"].items():
        for t, errs in g["denoising_error"].items():
            lines.append(f"| {name} ({g['geometry']}) | {t} | " + " | ".join(f"{errs[b]:.3f}" for b in BLOCKS) + " |")
    lines += ["", "Locomotion test clips: root speed (m/s) and skating ratio, real beside generated:", "",
              "| generator | guidance below | kind | clips | speed real | speed generated | skating real "
              "| skating generated |", "|---|---|---|---|---|---|---|---|"]
    for name, g in r["generators"].items():
        for kind, v in g["locomotion"].items():
            lines.append(f"| {name} | {g['guidance_below']} | {kind.replace('_', ' ')} | {v['clips']} | "
                         f"{v['speed_real']:.2f} | {v['speed_generated']:.2f} | {v['skating_real']:.2f} | "
                         f"{v['skating_generated']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
