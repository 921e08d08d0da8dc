"""What joint training costs and gains, and how procedural motion transfers to real motion.

    python bench/joint_training.py [--runs runs/joint] [--only joint,procedural,bandai] [--threads 1]
    python bench/joint_training.py --transfer --only joint,held_locomotion --joint checkpoints/default

Rows, each a `tiny` run with the real motion-description text in LexMLM, evaluated by `python -m engine eval`
on both test splits (the procedural library's and Bandai's):
- joint:       the procedural library and Bandai together (`make checkpoint`'s recipe; --joint RUN reuses a
               finished run of it, e.g. the one checkpoints/default was exported from);
- procedural:  the procedural library alone (`make checkpoint-open`);
- bandai:      Bandai alone;
- held_*:      joint training with some Bandai contents held out (their train and val takes removed,
               `bandai:...?hold_out=`), so their real test takes are actions the model knows only from the
               procedural library: how a user's real upload of such an action will be read.
The transfer table gives, per Bandai content, keyword precision@5 of the content's own words and whether the
take's action word wins (content-word fidelity), for the procedural-only model (no real take at all), the held-
out rows (no real take of that content) and the joint model (real takes of everything).
Results go to bench/RESULTS.md, section bench_joint_training.
--transfer measures the transfer table alone (section bench_joint_transfer): each row's lexical model as
`make checkpoint` makes it without caption tuning (the four phases, then `align` on that run), which trains
only the caption decoder and leaves every lexical vector as it was, evaluated on Bandai's test split without
captioning: the same transfer figures for less than an hour a row on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from results import BANDAI, SHARED, publish  # noqa: E402

TEXT = "data.text_files=" + ",".join(str(SHARED / "text" / n) for n in ("kitml-sentences.txt", "cmu-trial-descriptions.tsv"))
LOCOMOTION = ("walk", "walk-turn-left", "walk-turn-right", "run")
ARMS = ("wave-left-hand", "wave-right-hand", "wave-both-hands", "raise-up-left-hand", "raise-up-right-hand",
        "raise-up-both-hands")
# name: (data spec, what it is, the Bandai contents it has no real take of)
ROWS = {
    "joint": ("synthetic," + BANDAI, "the procedural library and Bandai together (the shipped recipe)", ()),
    "procedural": ("synthetic", "the procedural library alone", LOCOMOTION + ARMS),
    "bandai": (BANDAI, "Bandai alone", ()),
    "held_locomotion": (f"synthetic,{BANDAI}?hold_out={'+'.join(LOCOMOTION)}",
                        "joint, Bandai's walks, turns and runs held out", LOCOMOTION),
    "held_arms": (f"synthetic,{BANDAI}?hold_out={'+'.join(ARMS)}", "joint, Bandai's waves and raises held out", ARMS),
}
SPLITS = {"synthetic": "synthetic", "bandai": BANDAI}


def engine_cli(*args: str) -> str:
    cmd = [sys.executable, "-m", "engine", *args]
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=True, text=True, stdout=subprocess.PIPE).stdout


def train(name: str, runs: Path, threads: int | None) -> Path:
    out = runs / name
    if not (out / "manifest.json").exists():
        args = ["train", "--data", ROWS[name][0], "--preset", "tiny", "--phases", "all", "--out", str(out),
                "--set", TEXT, "--resume", "--quiet"]
        engine_cli(*args, *(["--threads", str(threads)] if threads else []))
    return out


def train_lexical(name: str, runs: Path, threads: int | None) -> Path:
    """The row's lexical model as `make checkpoint` makes it, caption tuning left out (module doc)."""
    out, aligned = runs / name, runs / f"{name}-aligned"
    more = ["--set", TEXT, "--resume", "--quiet", *(["--threads", str(threads)] if threads else [])]
    if not (out / "manifest.json").exists():
        engine_cli("train", "--data", ROWS[name][0], "--preset", "tiny", "--phases", "lexmlm,cmmm,lexmmm,lexcmlp",
                   "--out", str(out), *more)
    if not (aligned / "manifest.json").exists():
        engine_cli("train", "--data", ROWS[name][0], "--preset", "tiny", "--init", str(out), "--phases", "align",
                   "--out", str(aligned), *more)
    return aligned


def evaluate(run: Path, split: str, captioning: bool = True) -> dict:
    cached = run / f"eval_{split}{'' if captioning else '_lexical'}.json"
    if not cached.exists():
        cached.write_text(engine_cli("eval", "--checkpoint", str(run), "--data", SPLITS[split], "--json",
                                     *([] if captioning else ["--no-captioning"])))
    return json.loads(cached.read_text())


def seconds(run: Path) -> float:
    last = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        last[row["phase"]] = row.get("seconds", 0.0)
    return sum(v for k, v in last.items() if k in ("lexmlm", "cmmm", "lexmmm", "lexcmlp", "caption"))


def summary_table(evals: dict, runs: dict) -> str:
    lines = ["| run | what | test split | t2m R@1 / R@10 | side fid. | content fid. | keyword P@5 (worst) | "
             "caption CIDEr alone / served / NN | train minutes |", "|---|---|---|---|---|---|---|---|---|"]
    for name, per_split in evals.items():
        for split, e in per_split.items():
            r, lex, q, cap = e["retrieval"]["t2m"], e["lexical"], e["queries"], e.get("captioning", {})
            cider = " / ".join(f"{cap[k]['CIDEr']:.3f}" for k in ("model", "retrieval_augmented", "nearest_neighbour")
                               if k in cap)
            lines.append(f"| {name} | {ROWS[name][1]} | {split} | {r['R@1']:.1f} / {r['R@10']:.1f} | {lex['side']} | "
                         f"{lex['content']} | {q['keyword_precision']} ({q['keyword_precision_min']}) | {cider} | "
                         f"{seconds(runs[name]) / 60:.0f} |")
    return "\n".join(lines)


def transfer_table(evals: dict) -> str:
    names = [n for n in evals if "bandai" in evals[n]]
    lines = ["| Bandai content | " + " | ".join(f"{n}: P@5 / action word wins" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    contents = sorted(evals[names[0]]["bandai"]["queries"]["per_query"])
    for query in contents:
        content = query.replace(" ", "-")
        cells = []
        for n in names:
            e = evals[n]["bandai"]
            held = content in ROWS[n][2]
            wins = e["lexical"].get("per_group", {}).get(content)
            cells.append(f"{'**' if held else ''}{e['queries']['per_query'][query]} / {wins}{'**' if held else ''}")
        lines.append(f"| {content} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nBold: the model saw no real take of that content (procedural motion only)."


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "joint")
    ap.add_argument("--only", default=",".join(ROWS))
    ap.add_argument("--joint", type=Path, help="a finished run of the joint recipe to use as the joint row")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--transfer", action="store_true", help="the transfer table alone (module doc)")
    args = ap.parse_args(argv)
    if args.transfer:
        return transfer_only(args)
    runs = {n: (args.joint if n == "joint" and args.joint else train(n, args.runs, args.threads))
            for n in args.only.split(",")}
    evals = {n: {s: evaluate(run, s) for s in SPLITS} for n, run in runs.items()}
    publish("bench_joint_training", "## Joint training: what it costs and gains; procedural-to-real transfer "
            "(bench/joint_training.py)", [summary_table(evals, runs), "Transfer to real takes (Bandai test split):",
                                          transfer_table(evals)], write=not args.no_write)
    return evals


def shipped_eval(checkpoint: Path, split: str) -> dict | None:
    """A shipped checkpoint's own measure of the split (its eval.json, written by bench/model_card.py)."""
    path = checkpoint / "eval.json"
    return json.loads(path.read_text()).get(split) if path.exists() else None


def transfer_only(args) -> dict:
    runs = {n: (args.joint if n == "joint" and args.joint else train_lexical(n, args.runs, args.threads))
            for n in args.only.split(",")}
    evals = {n: {"bandai": shipped_eval(run, "bandai") or evaluate(run, "bandai", captioning=False)}
             for n, run in runs.items()}
    publish("bench_joint_transfer", "## Procedural-to-real transfer with Bandai contents held out "
            "(bench/joint_training.py --transfer)", ["Transfer to real takes (Bandai test split):", transfer_table(evals)],
            write=not args.no_write)
    return evals


if __name__ == "__main__":
    main()
