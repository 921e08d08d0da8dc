"""`python -m engine export --checkpoint RUN --out DIR`: a run's final model, weights only, for serving."""
from __future__ import annotations


def add_parser(sub):
    parser = sub.add_parser("export", help="export a run's final model for serving (weights only, float16)")
    parser.add_argument("--checkpoint", required=True, help="a finished training run (its final checkpoint)")
    parser.add_argument("--out", required=True, help="destination folder, e.g. checkpoints/default")
    parser.add_argument("--dtype", default="float16", help="float16 (default), bfloat16 or float32")
    parser.add_argument("--generation-only", action="store_true",
                        help="add only the run's generators and evaluator to the existing checkpoint --out, "
                             "whose lexical model they were trained on (train --base OUT)")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    from ..train.export import export_checkpoint, export_generation_only

    if args.generation_only:
        return export_generation_only(args.checkpoint, args.out, args.dtype)
    return export_checkpoint(args.checkpoint, args.out, args.dtype)
