"""The lexical model before and after motion alignment (phase `align`), side by side in one run.

    python bench/motion_alignment.py --checkpoints runs/before,checkpoints/default [--names before,after]

For each checkpoint and each split (validation, which chose the settings, and test) of the procedural library
and of Bandai: t2m R@1 / R@10, side and content-word fidelity (with the action words that beat the right one),
keyword precision@5 over one query per action (the worst query too), the negative queries' excluded sides in
the top 5, and the side gap; the measures of `python -m engine eval` without captioning and generation, on the
served code path (ModelService, the library search a user's keyword query goes through).
Results go to bench/RESULTS.md, section bench_motion_alignment.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from results import BANDAI, publish  # noqa: E402


def measure(service, dataset, split: str) -> dict:
    from engine.evaluation.evaluate import scores_between
    from engine.evaluation.fidelity import content_fidelity, label_action, label_side, side_fidelity
    from engine.evaluation.queries import query_evaluation
    from engine.metrics.retrieval import retrieval_all
    from engine.models.encode import encode_motions, encode_texts
    from engine.vocab import Vocabulary

    model = service.model
    vocab = Vocabulary.from_model_dir(model.cfg.text_model_path)
    clips = dataset.split(split)
    motions = encode_motions(model, [dataset.motion(c.id).joints for c in clips], kind="lexical")
    texts = encode_texts(model, [c.captions[0] for c in clips], kind="lexical")
    dense, actions = motions.toarray(), [label_action(c.label) for c in clips]
    content = content_fidelity(dense, actions, vocab, [(c.label or {}).get("content") for c in clips])
    queries = query_evaluation(service, dataset, split)
    return {"t2m": retrieval_all(scores_between(texts, motions))["t2m"],
            "side": side_fidelity(dense, [label_side(c.label) for c in clips], vocab)["side"],
            "content": content["content"], "beaten": dict(list(content["confusions"].items())[:4]),
            "keywords": queries["keyword_precision"], "keywords_min": queries["keyword_precision_min"],
            "worst": sorted(queries["per_query"].items(), key=lambda kv: kv[1])[:3],
            "negatives": {q: (n["hits"], n["excluded_in_top"]) for q, n in queries["negatives"].items()},
            "side_gap_min": queries["side_gap_min"]}


def table(rows: list[tuple[str, str, str, dict]]) -> str:
    lines = ["| model | data | split | t2m R@1 / R@10 | side fid. | content fid. (beaten by) | keyword P@5 "
             "(worst) | negatives: hits, excluded in top 5 | min side gap |", "|---|---|---|---|---|---|---|---|---|"]
    for name, data, split, m in rows:
        beaten = ", ".join(f"{k} {v}" for k, v in m["beaten"].items()) or "-"
        worst = ", ".join(f"`{q}` {p:g}" for q, p in m["worst"])
        negatives = "; ".join(f"`{q}` {h}, {x}" for q, (h, x) in m["negatives"].items())
        gap = "-" if m["side_gap_min"] is None else f"{m['side_gap_min']:.3f}"
        lines.append(f"| {name} | {data} | {split} | {m['t2m']['R@1']:.1f} / {m['t2m']['R@10']:.1f} | {m['side']} | "
                     f"{m['content']} ({beaten}) | {m['keywords']} ({worst}) | {negatives} | {gap} |")
    return "\n".join(lines)


def main(argv=None) -> list:
    from engine.data import open_dataset
    from engine.inference.service import ModelService

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", required=True, help="comma-separated checkpoint folders")
    ap.add_argument("--names", help="comma-separated names for them (default: the folders)")
    ap.add_argument("--splits", default="val,test")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    folders = args.checkpoints.split(",")
    names = args.names.split(",") if args.names else folders
    datasets = {"synthetic": open_dataset("synthetic")}
    if Path(BANDAI.split(":", 1)[1]).exists():
        datasets["Bandai"] = open_dataset(BANDAI)
    rows = []
    for name, folder in zip(names, folders):
        service = ModelService(folder)
        for data, dataset in datasets.items():
            for split in args.splits.split(","):
                rows.append((name, data, split, measure(service, dataset, split)))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    publish("bench_motion_alignment", "## Motion alignment: before and after (bench/motion_alignment.py)",
            [table(rows)], write=not args.no_write)
    return rows


if __name__ == "__main__":
    main()
