"""The measured comparisons on real motion (Bandai-Namco dataset 2): lexical vs dense, phases, options.

    python bench/bandai_experiments.py [--runs runs/bandai] [--only lexical,dense] [--eval-only]

Each experiment is a training run of the `tiny` preset on the Bandai train split, evaluated on the
test split by `python -m engine eval`. Ablations that only change the last phase reuse the finished
earlier phases of the full lexical run (their phase checkpoints are copied, then `--resume` trains
the remaining phases), so every row differs from the full run only where its name says. Results go
to bench/RESULTS.md (section bench_bandai_model) with the top terms of a few test motions.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from results import machine_line, write_section  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "data" / "bandai" / "bandai-namco-dataset-2-bvh.tar.xz"
DATA = f"bandai:{ARCHIVE}"

# The tiny preset with LexMMM and LexCMLP shortened to what two shared CPU cores allowed in one session.
SHORT = ["train.lexmmm.steps=400", "train.lexcmlp.steps=250"]
# The paper's scoring (SPLADE dot products, InfoNCE at T=1) instead of the tiny preset's cosine at T=0.05.
DOT = ["model.lex_score=dot", "train.lex_temperature=1.0"]
LEXICAL_PHASES = ["lexmlm", "cmmm", "lexmmm"]
# name: (phases, --set overrides, phases copied from the full lexical run, what the row shows)
EXPERIMENTS = {
    "dense": ("dense", [], [], "CLIP-style dense baseline, same encoders (InfoNCE on pooled vectors)"),
    "lexical": ("all", SHORT, [], "LexMLM + CMMM + LexMMM + LexCMLP (the full model, cosine scores)"),
    # Table 4 of the paper: phases added one at a time, each row aligned by LexCMLP at the end.
    "lexcmlp_only": ("lexcmlp", SHORT, [], "LexCMLP alone, from the base encoders"),
    "lexmlm_lexcmlp": ("lexmlm,lexcmlp", SHORT, ["lexmlm"], "+ LexMLM"),
    "no_lexmmm": ("lexmlm,cmmm,lexcmlp", SHORT, ["lexmlm", "cmmm"], "+ LexMLM + CMMM (no LexMMM)"),
    "upto_lexmmm": ("lexmlm,cmmm,lexmmm", SHORT, [], "LexMLM + CMMM + LexMMM, before LexCMLP (its phase-3 weights)"),
    # Our choices and the paper's settings in LexCMLP.
    "lexical_distill1": ("all", SHORT + ["train.lexcmlp.w_distill=1.0"], LEXICAL_PHASES,
                         "full, LexCMLP's pull toward the caption's vector at weight 1 (default 0.1)"),
    "lexical_dot": ("all", SHORT + DOT, LEXICAL_PHASES, "full, the paper's dot-product InfoNCE at T=1"),
    "lexical_paper_lr": ("all", SHORT + DOT + ["train.lexcmlp.lr_motion=1e-5", "train.lexcmlp.lr_heads=1e-5"],
                         LEXICAL_PHASES, "full, dot product, LexCMLP at the paper's 1e-5 everywhere"),
    "lexical_frozen_head": ("all", SHORT + DOT + ["train.lexcmlp.freeze_head=true"], LEXICAL_PHASES,
                            "full, dot product, LexCMLP with the shared MLM head frozen"),
    # The options of the other seeds, each switched on alone in LexCMLP.
    "cccl": ("all", SHORT + ["train.cccl=true"], LEXICAL_PHASES, "full + CCCL in LexCMLP"),
    "droptriple": ("all", SHORT + ["train.triplet=drop"], LEXICAL_PHASES, "full + DropTriple in LexCMLP"),
    "inverse_ler": ("all", SHORT + ["train.inverse_ler=0.01"], LEXICAL_PHASES, "full + 1/LER in LexCMLP"),
}
WORD_CHECK = ("raise-up-left-hand", "raise-up-right-hand", "run", "wave-both-hands", "walk-turn-left")


def engine_cli(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "engine", *args]
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=True, text=True, capture_output=capture)


def train(name: str, runs: Path) -> Path:
    phases, sets, reuse, _ = EXPERIMENTS[name]
    out = runs / name
    if (out / "manifest.json").exists():
        return out
    for phase in reuse:   # the full run's finished phases: identical weights, no retraining
        if not (out / phase).exists():
            shutil.copytree(train("lexical", runs) / phase, out / phase)
    args = ["train", "--data", DATA, "--preset", "tiny", "--phases", phases, "--out", str(out), "--quiet"]
    args += [a for s in sets for a in ("--set", s)]
    engine_cli(*args, *(["--resume"] if reuse or out.exists() else []))
    return out


def evaluate(run: Path) -> dict:
    cached = run / "eval_test.json"
    if not cached.exists():
        proc = engine_cli("eval", "--checkpoint", str(run), "--data", DATA, "--split", "test", "--json", capture=True)
        cached.write_text(proc.stdout)
    return json.loads(cached.read_text())


def word_check(run: Path) -> list[dict]:
    """Top 10 terms of one test take per label in WORD_CHECK (the readable check of the words)."""
    from engine.facade import Engine
    engine = Engine(checkpoint=str(run), data=DATA)
    rows, seen = [], set()
    for clip in engine.dataset(DATA).split("test"):
        content = (clip.label or {}).get("content")
        if content in WORD_CHECK and content not in seen:
            seen.add(content)
            terms = engine.explain(engine.clip(DATA, clip.id))["terms"]
            rows.append({"id": clip.id, "label": content, "terms": list(terms)[:10]})
    return rows


def table(evals: dict) -> str:
    head = ("| run | what it is | t2m R@1 | R@5 | R@10 | MedR | m2t R@10 | label t2m R@1 | side fid. | content fid. "
            "| terms/motion | CIDEr (NN baseline) |")
    lines = [head, "|" + "---|" * 12]
    for name, r in evals.items():
        t2m, m2t = r["retrieval"]["t2m"], r["retrieval"]["m2t"]
        lab = r["protocols"].get("labels", {}).get("t2m", {})
        lex, cap = r.get("lexical", {}), r.get("captioning", {})
        cider = f"{cap['model']['CIDEr']:.3f} ({cap['nearest_neighbour']['CIDEr']:.3f})" if cap else "-"
        lines.append(f"| {name} | {EXPERIMENTS[name][3]} | {t2m['R@1']:.2f} | {t2m['R@5']:.2f} | {t2m['R@10']:.2f} | "
                     f"{t2m['MedR']:.1f} | {m2t['R@10']:.2f} | {lab.get('R@1', float('nan')):.2f} | "
                     f"{lex.get('side', '-')} | {lex.get('content', '-')} | {_round(lex.get('motion_nnz_mean'))} | {cider} |")
    return "\n".join(lines)


def _round(value):
    return "-" if value is None else round(value, 1)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "bandai")
    ap.add_argument("--only", default=",".join(EXPERIMENTS), help="comma list of experiments")
    ap.add_argument("--eval-only", action="store_true", help="evaluate runs that exist, train nothing")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if not ARCHIVE.is_file():
        print(json.dumps({"skipped": f"Bandai archive not found at {ARCHIVE}"}))
        return {}
    evals = {}
    for name in args.only.split(","):
        run = args.runs / name
        if not args.eval_only:
            run = train(name, args.runs)
        if (run / "manifest.json").exists():
            evals[name] = evaluate(run)
    words = word_check(args.runs / "lexical") if (args.runs / "lexical" / "manifest.json").exists() else []
    print(json.dumps({"evals": evals, "words": words}, indent=1, default=float))
    if not args.no_write and evals:
        body = ["## Lexical vs dense on real motion: Bandai-Namco dataset 2 (bench/bandai_experiments.py)", "",
                machine_line(), "", f"Test split: {next(iter(evals.values()))['clips']} takes, one caption each. "
                "Retrieval in percent, protocol *all* (a query's own take); *label* counts any take with the "
                "query's label as relevant. Fidelity: share of sided takes whose vector weighs the named side "
                "above the other, and of takes whose action word wins among walk/turn/run/wave/raise.", "",
                table(evals), ""]
        for row in words:
            body.append(f"- `{row['id']}` ({row['label']}): " + ", ".join(row["terms"]))
        write_section("bench_bandai_model", "\n".join(body))
    return evals


if __name__ == "__main__":
    main()
