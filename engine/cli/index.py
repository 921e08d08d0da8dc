"""`python -m engine index build`: encode a library and save its inverted indexes beside the checkpoint."""
from __future__ import annotations

from ._common import TqdmProgress, add_checkpoint_options, engine_for


def add_parser(sub):
    parser = sub.add_parser("index", help="build the inverted index of a library")
    parser.add_argument("action", choices=["build"], help="build (or load, when up to date)")
    add_checkpoint_options(parser)
    parser.add_argument("--top-k", type=int, default=128, help="terms kept per vector (0 = all)")
    parser.add_argument("--ship", action="store_true",
                        help="save the index inside the checkpoint folder (make checkpoint does this for the default library)")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    import time

    progress = TqdmProgress()
    start = time.perf_counter()
    result = engine_for(args).build_index(args.library, args.top_k or None, progress, ship=args.ship)
    progress.close()
    return {**result, "seconds": round(time.perf_counter() - start, 2)}
