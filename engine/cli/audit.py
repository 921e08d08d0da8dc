"""`python -m engine audit SPEC`: over- and under-used words, side balance, disagreeing captions."""
from __future__ import annotations

from ._common import TqdmProgress, add_checkpoint_options


def add_parser(sub):
    parser = sub.add_parser("audit", help="audit a dataset's captions against its motions")
    parser.add_argument("spec", help="dataset spec, e.g. synthetic or bandai:/path/archive.tar.xz")
    add_checkpoint_options(parser, library=False)
    parser.add_argument("--worst", type=int, default=20, help="how many disagreeing clips to list")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    from ..facade import Engine

    progress = TqdmProgress()
    report = Engine(checkpoint=args.checkpoint, data=args.spec).audit(args.spec, progress=progress)
    progress.close()
    report["disagreements"] = report["disagreements"][: args.worst]
    return report
