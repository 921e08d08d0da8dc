"""`python -m engine eval --checkpoint DIR --data SPEC --split test`: retrieval, captioning, lexical, health."""
from __future__ import annotations

from ._common import TqdmProgress


def add_parser(sub):
    parser = sub.add_parser("eval", help="evaluate a checkpoint on a dataset split")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: checkpoints/default)")
    parser.add_argument("--data", default="synthetic", help="dataset spec")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--no-captioning", action="store_true", help="skip the captioning metrics")
    parser.add_argument("--max-items", type=int, default=None, help="evaluate the first N clips of the split")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    from ..facade import Engine

    engine = Engine(checkpoint=args.checkpoint, data=args.data)
    progress = TqdmProgress()
    result = engine.evaluate(args.data, args.split, captioning=not args.no_captioning, max_items=args.max_items,
                             progress=progress)
    progress.close()
    return {"checkpoint": engine.checkpoint, "data": args.data, **result}
