"""What a `-side` excludes, by the whole clip's salience alone and with the motion's parts, side by side.

    python bench/negative_parts.py [--checkpoint checkpoints/default] [--data synthetic,bandai:ARCHIVE]

For every `verb -side` query of a split's sided actions (`kick -left`, `wave -right`, ...), over the motions that
perform the verb: how many of those doing it on the excluded side (alone or in a composition) each rule
excludes, and how many others it wrongly excludes. Rules: the whole clip's salience (engine/index/salience.py);
plus any half of the motion where the side word is salient; plus a window of half the encoder's length where it
is salient beside one of the query's own words; plus a half where it is (what the search serves,
engine/inference/motion_parts.py). Then the served keyword query itself: hits and
how many of its top 5 do the verb on the excluded side. Validation chose the rule; test reads it.
Results go to bench/RESULTS.md, section bench_negative_parts.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from results import BANDAI, publish  # noqa: E402

SIDES = ("left", "right")
RULES = ("whole", "any_part", "window_with_query_word", "part_with_query_word")


def sided_actions(actions: set[str]) -> list[tuple[str, str]]:
    """(verb, side) of each sided action: 'kick_left' -> (kick, left), 'wave-left-hand' -> (wave, left)."""
    out = []
    for action in actions:
        for side in SIDES:
            if action.endswith(("_" + side, "-" + side)) or f"-{side}-" in action:
                out.append((action.replace("_", "-").split("-")[0], side))
    return out


def measure(service, dataset, split: str) -> dict:
    from engine.evaluation.queries import actions_of
    from engine.index import parse_keywords
    from engine.inference.motion_parts import MotionParts

    library = service.library(dataset.subset(split))
    parts, salience, vocab = library.part_index(), library.salience, library.vocab
    clips = dataset.split(split)
    windows = MotionParts.build(service.model, [dataset.motion(c.id).joints for c in clips], library.top_k,
                                rule="windows")
    performs = [actions_of(c.label) for c in clips]
    queries = sorted({pair for acts in performs for pair in sided_actions(acts)})
    out = {}
    for verb, side in queries:
        doing = [i for i, acts in enumerate(performs) if any(v == verb for v, _ in sided_actions(acts))
                 or any(a.startswith(verb) for a in acts)]
        on_side = {i for i in doing if (verb, side) in sided_actions(performs[i])}
        term = vocab.id(side)
        positives = [t for t in parse_keywords(verb, library.model.tokenizer, inflections=True).weights]
        whole = set(library.motions.salient_documents(term, salience).tolist())
        any_part = set(parts.owner[parts.index.salient_documents(term, salience)].tolist())
        with_word = set(parts.excluded([term], positives, salience).tolist())
        in_window = set(windows.excluded([term], positives, salience).tolist())
        rules = {"whole": whole, "any_part": whole | any_part, "window_with_query_word": whole | in_window,
                 "part_with_query_word": whole | with_word}
        query = f"{verb} -{side}"
        served = library.search_keywords(query, k=20)["hits"]
        top = [h for h in served[:5] if (verb, side) in sided_actions(actions_of(library.clips[h["id"]].label))]
        out[query] = {"doing": len(doing), "on_side": len(on_side),
                      **{rule: {"caught": len(ex & on_side), "wrong": len((ex & set(doing)) - on_side)}
                         for rule, ex in rules.items()},
                      "served_hits": len(served), "served_top5_on_side": len(top)}
    return out


def table(name: str, split: str, rows: dict) -> str:
    lines = [f"**{name}, {split}**", "",
             "| query | doing / on the side | whole: caught, wrong | + any half | + a window of half the length "
             "with a query word | + a half with a query word (served) | served: hits, on the side in top 5 |",
             "|---|---|---|---|---|---|---|"]
    total = {rule: [0, 0] for rule in RULES}
    for query, r in rows.items():
        cells = []
        for rule in RULES:
            total[rule][0] += r[rule]["caught"]
            total[rule][1] += r[rule]["wrong"]
            cells.append(f"{r[rule]['caught']}/{r['on_side']}, {r[rule]['wrong']}")
        lines.append(f"| `{query}` | {r['doing']} / {r['on_side']} | " + " | ".join(cells)
                     + f" | {r['served_hits']}, {r['served_top5_on_side']} |")
    on_side = sum(r["on_side"] for r in rows.values())
    lines.append("| all | " + f"{sum(r['doing'] for r in rows.values())} / {on_side} | "
                 + " | ".join(f"{c}/{on_side}, {w}" for c, w in total.values()) + " | |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    ap.add_argument("--data", default=f"synthetic,{BANDAI}")
    ap.add_argument("--splits", default="val,test")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    from engine.data import open_dataset
    from engine.inference.service import ModelService

    service = ModelService(args.checkpoint)
    results, parts = {}, []
    for spec in args.data.split(","):
        dataset = open_dataset(spec)
        name = "Bandai" if spec.startswith("bandai:") else spec
        for split in args.splits.split(","):
            results[f"{name}/{split}"] = rows = measure(service, dataset, split)
            parts.append(table(name, split, rows))
    print(json.dumps(results))
    parts.append("Caught: motions doing the verb on the excluded side (alone or in a composition) that the rule "
                 "excludes; wrong: the other motions doing the verb that it excludes (a motion of the library's "
                 "split is a document; `side -left` is the side steps). Served: the keyword query as the search "
                 "runs it (the last rule).")
    publish("bench_negative_parts", f"## Negative words in a motion's parts (bench/negative_parts.py, "
            f"{Path(args.checkpoint).name})", parts, write=not args.no_write)
    return results


if __name__ == "__main__":
    main()
