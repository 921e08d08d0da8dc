"""`python -m engine audit SPEC`: over- and under-used words, side balance, disagreeing captions."""
from __future__ import annotations

from ._common import TqdmProgress, add_checkpoint_options
from .search import words_text


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
    if not getattr(args, "json", False):   # word lists as 'walk (42.00%), left (30.50%)', not Python lists
        for key in ("caption_terms", "motion_terms", "base_encoder_caption_terms"):
            if key in report:
                report[key] = _shares(report[key])
        report["usage"] = {k: _shares(v) for k, v in report["usage"].items()}
        for row in report["disagreements"]:
            row["score"] = round(float(row["score"]), 3)
            row["motion_only"], row["caption_only"] = words_text(row["motion_only"]), words_text(row["caption_only"])
    return report


def _shares(pairs) -> str:
    return ", ".join(f"{w} ({float(v):.1f})" for w, v in pairs) or "(none)"
