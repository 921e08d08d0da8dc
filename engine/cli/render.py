"""`python -m engine render FILE --out clip.gif|clip.mp4 [--body skeleton|smpl] [--smpl-dir DIR]`: a motion as
rendered frames; --body smpl fits and draws an SMPL body (needs your licensed SMPL files, README "Rendering")."""
from __future__ import annotations

from ._common import TqdmProgress, add_checkpoint_options, engine_and_motion


def add_parser(sub):
    parser = sub.add_parser("render", help="render a motion file to a GIF or MP4 (skeleton or SMPL body)")
    parser.add_argument("file", help="motion file (.bvh, .npy or .amc)")
    parser.add_argument("--out", required=True, help="output path ending in .gif or .mp4")
    parser.add_argument("--body", choices=("skeleton", "smpl"), default="skeleton",
                        help="skeleton (default) or the SMPL body fitted to it")
    parser.add_argument("--smpl-dir", default=None,
                        help="folder of SMPL_NEUTRAL.npz (default: $MOTIONLEX_SMPL_DIR)")
    parser.add_argument("--mapping", default=None, help="JSON joint mapping for unusual BVH rigs")
    add_checkpoint_options(parser, library=False)   # unused by rendering; the engine is the one facade
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    engine, motion = engine_and_motion(args)
    progress = TqdmProgress()
    try:
        return engine.render_motion(motion, args.out, args.body, smpl_dir=args.smpl_dir, progress=progress)
    finally:
        progress.close()
