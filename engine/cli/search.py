"""`python -m engine search --query "..." [--keywords]`: text- or keyword-to-motion search."""
from __future__ import annotations

from ._common import TqdmProgress, add_checkpoint_options, engine_for


def add_parser(sub):
    parser = sub.add_parser("search", help="search a motion library by text or keywords")
    add_checkpoint_options(parser)
    parser.add_argument("--query", required=True, help='free text, or keywords with --keywords ("run:2 jump -left")')
    parser.add_argument("--keywords", action="store_true", help="keyword query: no text encoder, listed words set to 1")
    parser.add_argument("--k", type=int, default=10, help="number of hits")
    parser.add_argument("--topk-terms", type=int, default=None, help="keep only the query's N heaviest terms")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    progress = TqdmProgress()
    result = engine_for(args).search(args.query, args.library, keywords=args.keywords, k=args.k,
                                     query_top_k=args.topk_terms, progress=progress)
    progress.close()
    for hit in result["hits"]:
        hit["terms"] = [[w, s] for w, s in hit["terms"]]
    return result
