"""`python -m engine generate --checkpoint DIR --prompt "..." --out FILE.npy|FILE.bvh`: text to motion.

    python -m engine generate --prompt "a person waves the left hand" --model sopo --seconds 3 --out wave.bvh --json
    python -m engine generate --prompt "a person walks" --weights "walk:2 -turn" --seed 1 --out walk.npy

Writes the motion with engine.motion_io.save_motion (canonical joints as .npy, or a BVH) and prints the
frames, seconds, reward (the lexical model's score), the evaluator's score, the physical checks and timings.
"""
from __future__ import annotations

from pathlib import Path


def add_parser(sub):
    parser = sub.add_parser("generate", help="generate a motion from text with the checkpoint's generator")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: checkpoints/default)")
    parser.add_argument("--prompt", required=True, help="what the motion should be")
    parser.add_argument("--model", default="base", help="base (default), sopo, or another generator folder's name")
    parser.add_argument("--seconds", type=float, default=None, help="length, 1-10 s (default: predicted)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=50, help="DDIM sampling steps, 1-1000 (default 50)")
    parser.add_argument("--guidance", type=float, default=2.5, help="classifier-free guidance, 0-20 (default 2.5)")
    parser.add_argument("--smoothing", type=float, default=None,
                        help="output smoothing over time in frames, 0-10 (default: the generator's; 0 = raw output)")
    parser.add_argument("--foot-lock", choices=("on", "off"), default=None,
                        help="hold planted feet in place (default: the generator's own setting)")
    parser.add_argument("--weights", default=None, help="word weights steering the condition, e.g. 'walk:2 -run'")
    parser.add_argument("--out", required=True, help="output file: .npy (joints) or .bvh")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    from ..errors import InputError
    from ..facade import Engine
    from ..motion_io import save_motion

    out = Path(args.out)
    if out.suffix.lower() not in (".npy", ".bvh"):
        raise InputError(out, "the output must be a .npy or a .bvh file")
    if not out.parent.is_dir():
        raise InputError(out, f"the folder {out.parent} does not exist")
    engine = Engine(checkpoint=args.checkpoint)
    result = engine.generate(args.prompt, model=args.model, seconds=args.seconds, seed=args.seed, steps=args.steps,
                             guidance=args.guidance, word_weights=args.weights, smoothing=args.smoothing,
                             foot_lock=None if args.foot_lock is None else args.foot_lock == "on")
    save_motion(engine.generated_motion(result), out)
    return {"out": str(out), **{k: v for k, v in result.items() if k != "joints"}}
