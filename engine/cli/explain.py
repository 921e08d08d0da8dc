"""`python -m engine explain FILE`: the words a motion activates and its joints x time PCA map."""
from __future__ import annotations

from ._common import add_checkpoint_options, engine_and_motion
from .search import words_text


def add_parser(sub):
    parser = sub.add_parser("explain", help="top terms and PCA attention map of a motion file")
    parser.add_argument("file", help="motion file (.bvh or .npy)")
    parser.add_argument("--mapping", default=None, help="JSON joint mapping for unusual BVH rigs")
    parser.add_argument("--components", type=int, default=3, help="PCA components")
    parser.add_argument("--caption", default=None, help="also compare the motion's words with this caption")
    parser.add_argument("--save-pca", default=None, help="write the (components, patches, 22) intensities to .npy")
    add_checkpoint_options(parser, library=False)
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    import numpy as np

    engine, motion = engine_and_motion(args)
    result = engine.explain(motion, args.components)
    pca = result.pop("pca")
    out = {"file": args.file, "frames": motion.frames, "terms": result["terms"],
           "pca_shape": list(pca["intensities"].shape), "explained_variance": pca["explained_variance"],
           "frames_per_patch": result["frames_per_patch"]}
    if args.save_pca:
        np.save(args.save_pca, pca["intensities"], allow_pickle=False)
        out["pca_file"] = args.save_pca
    if args.caption:
        out["comparison"] = engine.compare(motion, args.caption)
    if not getattr(args, "json", False):   # word lists as 'left (0.80), raise (0.61)'
        out["terms"] = words_text(out["terms"])
        for key in ("motion_terms", "caption_terms", "motion_only", "caption_only"):
            if key in out.get("comparison", {}):
                out["comparison"][key] = words_text(out["comparison"][key])
    return out
