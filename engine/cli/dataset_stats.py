"""`python -m engine dataset-stats SPEC [--json]`: size, durations, splits and caption vocabulary."""
from __future__ import annotations


def add_parser(sub):
    parser = sub.add_parser("dataset-stats", help="summarise a dataset (clips, durations, splits, vocabulary)")
    parser.add_argument("spec", help="dataset spec, e.g. synthetic?n=200, bandai:/path/archive.tar.xz, "
                                     "or several joined by commas")
    parser.add_argument("--top", type=int, default=25, help="how many top terms to list")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    from ..data.specs import open_dataset
    from ..data.stats import dataset_stats

    return dataset_stats(open_dataset(args.spec), top=args.top)
