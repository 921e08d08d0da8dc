"""`python -m engine caption FILE`: caption a BVH/npy motion, with its top terms and a baseline."""
from __future__ import annotations

from ._common import TqdmProgress, add_checkpoint_options, engine_and_motion
from .search import words_text


def add_parser(sub):
    parser = sub.add_parser("caption", help="caption a motion file (.bvh or .npy)")
    parser.add_argument("file", help="motion file")
    parser.add_argument("--mapping", default=None, help="JSON joint mapping for unusual BVH rigs")
    add_checkpoint_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    engine, motion = engine_and_motion(args)
    progress = TqdmProgress()
    result = engine.caption(motion, args.library, progress=progress)
    progress.close()
    baseline = result.pop("baseline") or {}
    if not getattr(args, "json", False):
        result["terms"] = words_text(result["terms"])
    return {"file": args.file, **result, "baseline_caption": baseline.get("caption"),
            "baseline_clip": baseline.get("clip")}
