"""`python -m engine search --query "..." [--keywords] [--pieces]`: text- or keyword-to-motion search."""
from __future__ import annotations


from ._common import TqdmProgress, add_checkpoint_options, engine_for

# Procedural label fields that describe a part, in the order they read best; "normal" values say nothing.
_PART_FIELDS = ("speed", "amplitude", "reps", "direction", "turn_deg", "in_place", "first")


def add_parser(sub):
    parser = sub.add_parser("search", help="search a motion library by text or keywords")
    add_checkpoint_options(parser)
    parser.add_argument("--query", required=True, help='free text, or keywords with --keywords ("run:2 jump -left")')
    parser.add_argument("--keywords", action="store_true", help="keyword query: no text encoder, listed words set to 1")
    parser.add_argument("--pieces", action="store_true",
                        help="with --keywords: search a word that is not in the vocabulary on its word pieces")
    parser.add_argument("--k", type=int, default=10, help="number of hits")
    parser.add_argument("--topk-terms", type=int, default=None, help="keep only the query's N heaviest terms")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    progress = TqdmProgress()
    engine = engine_for(args)
    try:
        result = _search(engine, args, progress)
    finally:
        progress.close()
    as_json = getattr(args, "json", False)
    for hit in result["hits"]:
        if as_json:
            hit["label_text"] = label_text(hit.get("label"))
            hit["terms"] = [[w, s] for w, s in hit["terms"]]
        else:
            hit["label"] = label_text(hit.get("label"))
            hit["terms"] = words_text(hit["terms"])
    if not as_json:
        result["query_terms"] = words_text(result["query_terms"])
        for key in ("unknown_words", "inactive_words", "side_words"):
            if key in result:
                result[key] = ", ".join(result[key]) or "(none)"
        for key in ("forms", "inflections"):
            if key in result:
                result[key] = {word: " / ".join(forms) for word, forms in result[key].items()}
        if "pieces" in result:
            result["pieces"] = {word: " ".join(pieces) for word, pieces in result["pieces"].items()}
    return result


def _search(engine, args, progress) -> dict:
    return engine.search(args.query, args.library, keywords=args.keywords, k=args.k, query_top_k=args.topk_terms,
                         pieces=args.pieces, progress=progress)


def words_text(terms, n: int | None = None) -> str:
    """[("left", 0.8), ("raise", 0.61)] -> 'left (0.80), raise (0.61)'."""
    pairs = list(terms.items()) if isinstance(terms, dict) else [tuple(t) for t in terms]
    return ", ".join(f"{w} ({float(v):.2f})" for w, v in pairs[:n]) or "(none)"


def label_text(label) -> str:
    """A clip label as words: procedural 'wave left (fast, slight), then walk; style energetic', a Bandai-style
    flat label 'content=walk style=elderly', '' without one."""
    if not label:
        return ""
    if not isinstance(label, dict):
        return str(label)
    if isinstance(label.get("parts"), list) and label["parts"]:
        parts = []
        for part in label["parts"]:
            name = str(part.get("primitive", "?")).replace("_", " ")
            details = [_detail(key, part[key]) for key in _PART_FIELDS
                       if part.get(key) not in (None, "normal", False)]
            parts.append(f"{name} ({', '.join(details)})" if details else name)
        text = ", then ".join(parts)
        style = label.get("style")
        return text + (f"; style {style}" if style and style != "neutral" else "")
    return " ".join(f"{k}={_scalar(v)}" for k, v in label.items() if v not in (None, "", [], {}))


def _detail(key: str, value) -> str:
    if key == "reps":
        return {1: "once", 2: "twice"}.get(value, f"{value} times")
    if key == "turn_deg":
        return f"turn {value:g} degrees" if isinstance(value, (int, float)) else f"turn {value}"
    if key == "in_place":
        return "in place"
    if key == "first":
        return f"{value} first"
    if key in ("speed", "amplitude", "direction"):
        return str(value).replace("_", " ")
    return f"{key.replace('_', ' ')} {value}"


def _scalar(value) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    return str(value)
