"""`python -m engine convert IN --out OUT.npy|OUT.bvh [--mapping FILE] [--json]`: any supported
motion file -> the canonical motion, saved as .npy joints or a canonical-rig .bvh."""
from __future__ import annotations

from pathlib import Path

from ..motion_io import load_motion, save_motion


def add_parser(sub):
    parser = sub.add_parser("convert", help="convert a BVH/NPY motion to the canonical 22-joint motion")
    parser.add_argument("input", help="a .bvh or .npy motion file")
    parser.add_argument("--out", required=True, help="output path ending in .npy or .bvh")
    parser.add_argument("--mapping", default=None,
                        help='JSON {"canonical_name": "RigJointName"} overriding the joint-name rules')
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    motion = load_motion(args.input, mapping=args.mapping)
    save_motion(motion, args.out)
    return {
        "input": str(Path(args.input)),
        "output": str(Path(args.out)),
        "frames": motion.frames,
        "fps": motion.fps,
        "joints": int(motion.joints.shape[1]),
        "duration_s": round(motion.duration_s, 3),
        "height_m": round(motion.height_m, 3),
        "mapped_joints": motion.meta.get("mapped_joints", {}),
    }
