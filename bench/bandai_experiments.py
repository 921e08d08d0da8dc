"""The measured comparisons on real motion (Bandai-Namco dataset 2): lexical vs dense, phases, options.

    python bench/bandai_experiments.py [--runs runs/bandai] [--only lexical,dense] [--eval-only]

Each experiment is a training run of the `tiny` preset on the Bandai train split, evaluated on the
test split by `python -m engine eval`. Ablations that only change the last phase reuse the finished
earlier phases of the run their entry names (`lexical` or `full_vocab`: the phase checkpoints are
copied, then `--resume` trains the remaining phases), so a row differs from that run only where its
name says. Results go
to bench/RESULTS.md (section bench_bandai_model) with the top terms of a few test motions.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from results import machine_line, write_section  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "data" / "bandai" / "bandai-namco-dataset-2-bvh.tar.xz"
# The real motion-description text LexMLM reads beside the captions (the runs in RESULTS.md used it).
TEXT_FILES = "data.text_files=" + ",".join(str(ROOT.parent / "shared" / "data" / "text" / name)
                                            for name in ("kitml-sentences.txt", "cmu-trial-descriptions.tsv"))
DATA = f"bandai:{ARCHIVE}"

# The first rows (before the tiny preset moved to the restricted lexicon) used the full vocabulary: the
# ablations below reuse that run's phases ("full_vocab") and train LexCMLP for 250 steps, compared with
# "lexical_250", the same model at 250 steps.
FULL = ["model.lexicon=full", "train.lexcmlp.steps=500"]
S250 = ["model.lexicon=full", "train.lexcmlp.steps=250"]
# The paper's scoring (SPLADE dot products over all terms, InfoNCE at T=1), none of our LexCMLP additions.
DOT = ["model.lex_score=dot", "model.lex_top_k=0", "train.lex_temperature=1.0", "train.lexcmlp.w_mirror=0"]
OLD = DOT + ["train.lexcmlp.w_distill=0.1"]   # the first full runs (before cosine scores): distill 0.1
LEXICAL_PHASES = ["lexmlm", "cmmm", "lexmmm"]
FROM_FULL = ("full_vocab", LEXICAL_PHASES)     # (run whose finished phases a row copies, which phases)
FROM_TINY = ("lexical", LEXICAL_PHASES)
# The tiny preset before it scored only the training text's own terms and kept captions' words in LexCMLP:
# every row but `tiny` and `dense` was trained with it (so a re-run trains the same thing).
PREVIOUS_PRESET = ["model.lexicon_neighbours=8", "train.lexcmlp.w_text_anchor=0", "train.lexcmlp.distill_literal=0",
                   "train.lexcmlp.anchor_literal=0"]
CURRENT_PRESET_ROWS = ("tiny", "dense", "caption_cider")
# name: (phases, --set overrides, (run, phases) copied from another row or None, what the row shows)
EXPERIMENTS = {
    "dense": ("dense", [], None, "CLIP-style dense baseline, same encoders (InfoNCE on pooled vectors)"),
    "tiny": ("all", [], None, "the full model, tiny preset as shipped: the training text's own terms, LexCMLP "
             "1000 steps keeping captions' words, caption tuning"),
    "caption_cider": ("all", ["train.caption.w_cider=1"], ("tiny", LEXICAL_PHASES + ["lexcmlp"]),
                      "tiny with the self-critical CIDEr-D reward in caption tuning (the same phases 1-4)"),
    "lexical": ("all", [], None, "the previous tiny preset: terms + 8 neighbours each, LexCMLP 1000 steps, caption tuning"),
    "lexical_earlier": ("lexmlm,cmmm,lexmmm,lexcmlp", [], None,
                        "an earlier run of the preset's four phases (trained in pieces beside other jobs; 4x4 decoding)"),
    "lexical_700": ("all", ["train.lexcmlp.steps=700"], FROM_TINY, "as lexical, LexCMLP ~700 steps"),
    "lexical_700_mirror2": ("all", ["train.lexcmlp.steps=700", "train.lexcmlp.w_mirror=2"], FROM_TINY,
                            "as lexical, LexCMLP ~700 steps, mirror weight 2"),
    "no_caption_phase": ("lexmlm,cmmm,lexmmm,lexcmlp", [], ("lexical", LEXICAL_PHASES + ["lexcmlp"]),
                         "the lexical run before caption tuning: captions from LexCMLP's decoder"),
    "frozen_head": ("all", ["train.lexcmlp.freeze_head=true"], FROM_TINY,
                    "as lexical, LexCMLP with the shared MLM head frozen (the text keeps LexMLM's words)"),
    "frozen_head_aux_text": ("all", ["train.lexcmlp.freeze_head=true", "train.lexcmlp.w_aux_text=1.0"], FROM_TINY,
                             "as frozen_head, with the text decoder's L_aux^1 at weight 1 (tiny: 0.01) to keep the caption's words"),
    "text_anchor": ("all", ["train.lexcmlp.w_text_anchor=1.0"], FROM_TINY,
                    "as lexical, LexCMLP keeps each caption near its starting lexical vector (1 - cos, weight 1)"),
    "text_anchor_literal": ("all", ["train.lexcmlp.w_text_anchor=1.0", "train.lexcmlp.distill_literal=1.0"], FROM_TINY,
                            "as text_anchor, and the motion is pulled toward its caption's own words only (no expansions)"),
    "text_anchor_half_literal": ("all", ["train.lexcmlp.w_text_anchor=1.0", "train.lexcmlp.distill_literal=0.5"], FROM_TINY,
                                 "as text_anchor, the motion's pull target keeps the caption's expansions at half weight"),
    "text_anchor_literal_075": ("all", ["train.lexcmlp.w_text_anchor=1.0", "train.lexcmlp.distill_literal=0.75"],
                                FROM_TINY, "as text_anchor, the motion's pull target keeps the caption's expansions at a quarter weight"),
    "literal_both_075": ("all", ["train.lexcmlp.w_text_anchor=1.0", "train.lexcmlp.distill_literal=0.75",
                                 "train.lexcmlp.anchor_literal=0.75"], FROM_TINY,
                         "as text_anchor_literal_075, and the anchor's target keeps the caption's expansions at a quarter "
                         "weight too (the tiny preset's LexCMLP on the previous lexicon)"),
    "heads_paper_lr": ("all", ["train.lexcmlp.lr_heads=1e-5"], FROM_TINY,
                       "as lexical, LexCMLP's heads at the paper's 1e-5 (tiny: 1e-4)"),
    "restricted_500": ("all", ["train.lexcmlp.steps=500"], FROM_TINY,
                       "restricted lexicon, LexCMLP 500 steps: compare with full_vocab"),
    "full_vocab": ("all", FULL, None, "every phase on the full vocabulary (30,522), LexCMLP 500 steps"),
    "lexical_250": ("all", S250, FROM_FULL, "full vocabulary, LexCMLP 250 steps (reference of the rows below)"),
    # Table 4 of the paper: phases added one at a time, each row aligned by LexCMLP at the end.
    "lexcmlp_only": ("lexcmlp", S250, None, "LexCMLP alone, from the base encoders"),
    "lexmlm_lexcmlp": ("lexmlm,lexcmlp", S250, ("full_vocab", ["lexmlm"]), "+ LexMLM"),
    "no_lexmmm": ("lexmlm,cmmm,lexcmlp", S250, ("full_vocab", ["lexmlm", "cmmm"]), "+ LexMLM + CMMM (no LexMMM)"),
    "upto_lexmmm": ("lexmlm,cmmm,lexmmm", S250 + OLD, None, "LexMLM + CMMM + LexMMM, no LexCMLP (phase-3 weights, dot scores)"),
    # What each of our LexCMLP choices does (each row: the 250-step full model with one thing changed).
    "no_mirror": ("all", S250 + ["train.lexcmlp.w_mirror=0"], FROM_FULL, "without the mirror term"),
    "all_terms": ("all", S250 + ["model.lex_top_k=0", "train.lexcmlp.w_mirror=0"], FROM_FULL,
                  "no mirror, every term kept (no top-64)"),
    "all_terms_distill01": ("all", S250 + ["model.lex_top_k=0", "train.lexcmlp.w_mirror=0", "train.lexcmlp.w_distill=0.1"],
                            FROM_FULL, "no mirror, every term, pull toward the caption at 0.1"),
    "flops_1e-3": ("all", S250 + ["model.lex_top_k=0", "train.lexcmlp.w_mirror=0", "train.lexcmlp.w_flops=1e-3"],
                   FROM_FULL, "no mirror, every term, sparsity from FLOPs at 1e-3 instead of top-64"),
    "flops_1e-2": ("all", S250 + ["model.lex_top_k=0", "train.lexcmlp.w_mirror=0", "train.lexcmlp.w_flops=1e-2"],
                   FROM_FULL, "no mirror, every term, sparsity from FLOPs at 1e-2 instead of top-64"),
    "dot_product": ("all", S250 + OLD, FROM_FULL, "the paper's LexCMLP: dot products at T=1, all terms, distill 0.1"),
    "dot_paper_lr": ("all", S250 + OLD + ["train.lexcmlp.lr_motion=1e-5", "train.lexcmlp.lr_heads=1e-5"],
                     FROM_FULL, "as above at the paper's 1e-5 everywhere"),
    "dot_frozen_head": ("all", S250 + OLD + ["train.lexcmlp.freeze_head=true"], FROM_FULL,
                        "as above with the shared MLM head frozen"),
    # The options of the other seeds, each switched on alone.
    "cccl": ("all", S250 + ["train.cccl=true"], FROM_FULL, "+ CCCL in LexCMLP"),
    "mildtriple": ("all", S250 + ["train.triplet=mild"], FROM_FULL, "+ MildTriple in LexCMLP"),
    "droptriple": ("all", S250 + ["train.triplet=drop"], FROM_FULL, "+ DropTriple in LexCMLP"),
    "inverse_ler": ("all", S250 + ["train.inverse_ler=0.01"], FROM_FULL, "+ 1/LER in LexCMLP"),
    "motpp_off": ("all", S250 + ["model.motpp=false"], None, "MoT++ input off: one projection per joint (all phases)"),
    "joint_synthetic": ("all", ["train.lexcmlp.steps=500"], None,
                        "joint-dataset training: Bandai + 2,000 procedural clips, LexCMLP 500 steps (vs restricted_500)"),
}
# Rows trained on more than Bandai (joint-dataset training); every row is evaluated on Bandai's test split.
EXTRA_DATA = {"joint_synthetic": "synthetic?n=2000&seed=0"}
NOTES = ROOT / "bench" / "bandai_notes.md"   # the written reading of the table, kept inside the section
WORD_CHECK = ("raise-up-left-hand", "raise-up-right-hand", "run", "wave-both-hands", "walk-turn-left")


def engine_cli(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "engine", *args]
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=True, text=True, capture_output=capture)


def train(name: str, runs: Path, threads: int | None = None) -> Path:
    phases, sets, reuse, _ = EXPERIMENTS[name]
    sets = [TEXT_FILES] + ([] if name in CURRENT_PRESET_ROWS else PREVIOUS_PRESET) + sets
    out = runs / name
    if (out / "manifest.json").exists():
        return out
    source, copied = reuse or (None, [])
    for phase in copied:   # another row's finished phases: identical weights, no retraining
        if not (out / phase).exists():
            shutil.copytree(train(source, runs, threads) / phase, out / phase)
    data = ",".join([DATA] + ([EXTRA_DATA[name]] if name in EXTRA_DATA else []))
    args = ["train", "--data", data, "--preset", "tiny", "--phases", phases, "--out", str(out), "--quiet"]
    args += [a for s in sets for a in ("--set", s)] + (["--threads", str(threads)] if threads else [])
    engine_cli(*args, *(["--resume"] if copied or out.exists() else []))
    return out


def evaluate(run: Path) -> dict:
    cached = run / "eval_test.json"
    if not cached.exists():
        proc = engine_cli("eval", "--checkpoint", str(run), "--data", DATA, "--split", "test", "--json", capture=True)
        cached.write_text(proc.stdout)
    return json.loads(cached.read_text())


def word_check(run: Path) -> list[dict]:
    """Top 10 terms of one test take per label in WORD_CHECK (the readable check of the words), beside the
    top 10 of the take's first caption through the text side of the same model."""
    from engine.facade import Engine
    engine = Engine(checkpoint=str(run), data=DATA)
    rows, seen = [], set()
    for clip in engine.dataset(DATA).split("test"):
        content = (clip.label or {}).get("content")
        if content in WORD_CHECK and content not in seen:
            seen.add(content)
            terms = engine.explain(engine.clip(DATA, clip.id))["terms"]
            rows.append({"run": run.name, "id": clip.id, "label": content, "terms": list(terms)[:10], "caption": clip.captions[0],
                         "caption_terms": list(engine.text_terms(clip.captions[0]))[:10]})
    return rows


def caption_ceiling(samples: int = 20, draws: int = 5) -> dict:
    """CIDEr of captions that get the label right, written from the same templates as the references:
    one random caption of the take's label (mean and range over `draws` draws), and the label's consensus caption (the highest CIDEr-D against
    `samples` x 3 other captions of that label). What a captioner that never errs on content, side and style
    could score; the nearest-neighbour baseline is a random caption of a take that nearly always shares it.
    Beside them, the model-free baseline: the caption of the nearest training take in pose space."""
    from engine.data import open_dataset
    from engine.data.captions import captions_for
    from engine.evaluation.pose_neighbour import nearest_by_pose
    from engine.metrics.captioning import cider_d, consensus_cider
    dataset = open_dataset(DATA)
    clips, train_clips = dataset.split("test"), dataset.split("train")
    by_pose = nearest_by_pose([dataset.motion(c.id).joints for c in clips],
                              [dataset.motion(c.id).joints for c in train_clips])
    references = [c.captions for c in clips]
    consensus = {}
    for clip in clips:
        key = json.dumps(clip.label, sort_keys=True)
        if key not in consensus:
            pool = [text for i in range(samples) for text in captions_for(clip.label, f"sample-{i}")]
            consensus[key] = pool[int(consensus_cider(pool).argmax())]
    random_draws = [cider_d([captions_for(c.label, f"{c.id}-draw-{d}")[0] for c in clips], references) for d in range(draws)]
    return {"pose_neighbour_caption": cider_d([train_clips[i].captions[0] for i in by_pose], references),
            "pose_neighbour_same_content": float(np.mean([train_clips[i].label["content"] == c.label["content"]
                                                          for i, c in zip(by_pose, clips)])),
            "right_label_random_caption": float(np.mean(random_draws)),
            "right_label_random_caption_range": [min(random_draws), max(random_draws)],
            "right_label_consensus_caption": cider_d([consensus[json.dumps(c.label, sort_keys=True)] for c in clips],
                                                     references)}


def table(evals: dict) -> str:
    head = ("| run | what it is | t2m R@1 | R@5 | R@10 | MedR | m2t R@10 | label t2m R@1 | side fid. | content fid. "
            "| terms/motion | CIDEr (NN baseline) [served / decoder alone (NN; neighbours' consensus)] |")
    lines = [head, "|" + "---|" * 12]
    for name, r in evals.items():
        t2m, m2t = r["retrieval"]["t2m"], r["retrieval"]["m2t"]
        lab = r["protocols"].get("labels", {}).get("t2m", {})
        lex, cap = r.get("lexical", {}), r.get("captioning", {})
        cider = f"{cap['model']['CIDEr']:.3f} ({cap['nearest_neighbour']['CIDEr']:.3f})" if cap else "-"
        if "retrieval_augmented" in cap:   # today's eval: "model" is the decoder alone
            cider = f"{cap['retrieval_augmented']['CIDEr']:.3f} / {cap['model']['CIDEr']:.3f} " \
                    f"({cap['nearest_neighbour']['CIDEr']:.3f}; {cap['neighbours_consensus']['CIDEr']:.3f})"
        elif "model_without_neighbours" in cap:   # evals of earlier versions: "model" was the served captioner
            cider = f"{cap['model']['CIDEr']:.3f} / {cap['model_without_neighbours']['CIDEr']:.3f} " \
                    f"({cap['nearest_neighbour']['CIDEr']:.3f}; {cap['neighbours_consensus']['CIDEr']:.3f})"
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
    ap.add_argument("--threads", type=int, help="CPU threads per training run (two experiments side by side: 1)")
    ap.add_argument("--words", default="tiny", help="comma list of rows whose test takes' top terms are printed")
    args = ap.parse_args(argv)
    if not ARCHIVE.is_file():
        print(json.dumps({"skipped": f"Bandai archive not found at {ARCHIVE}"}))
        return {}
    evals = {}
    for name in args.only.split(","):
        run = args.runs / name
        if not args.eval_only:
            run = train(name, args.runs, args.threads)
        if (run / "manifest.json").exists():
            evals[name] = evaluate(run)
    words = [row for name in args.words.split(",") if (args.runs / name / "manifest.json").exists()
             for row in word_check(args.runs / name)]
    ceiling = caption_ceiling()
    print(json.dumps({"evals": evals, "words": words, "caption_ceiling": ceiling}, indent=1, default=float))
    if not args.no_write and evals:
        body = ["## Lexical vs dense on real motion: Bandai-Namco dataset 2 (bench/bandai_experiments.py)", "",
                machine_line(), "", f"Test split: {next(iter(evals.values()))['clips']} takes, one caption each. "
                "Retrieval in percent, protocol *all* (a query's own take); *label* counts any take with the "
                "query's label as relevant. Fidelity: share of sided takes whose vector weighs the named side "
                "above the other, and of takes whose action word wins among walk/turn/run/wave/raise. CIDEr: rows "
                "evaluated before the caption head and neighbour guidance show the decoder alone (NN baseline); "
                "rows evaluated since show the captioner as served (its choice guided by the captions of the 20 "
                "nearest training takes) / the decoder alone (NN baseline; the consensus caption of those 20 "
                "takes' captions, Devlin et al. 2015).", "",
                table(evals), "",
                "Caption ceiling on the same test takes (bench `caption_ceiling`, no model): a random caption of "
                f"the right label scores CIDEr {ceiling['right_label_random_caption']:.3f} (mean of 5 draws, "
                f"{ceiling['right_label_random_caption_range'][0]:.3f}-{ceiling['right_label_random_caption_range'][1]:.3f}), "
                "the label's consensus "
                f"caption {ceiling['right_label_consensus_caption']:.3f}. The model-free baseline, the caption "
                "of the nearest training take in pose space (root path and root-relative joints, no model), "
                f"scores {ceiling['pose_neighbour_caption']:.3f}; that take shares the test take's content in "
                f"{100 * ceiling['pose_neighbour_same_content']:.1f}% of cases.", ""]
        body += ["Top 10 terms of one test take per label, and of its first caption, through the same model:", ""] if words else []
        for row in words:
            body.append(f"- `{row['run']}` `{row['id']}` ({row['label']}): motion " + ", ".join(row["terms"]) +
                        f"; caption \"{row['caption']}\": " + ", ".join(row["caption_terms"]))
        if NOTES.is_file():
            body += ["", NOTES.read_text().strip()]
        write_section("bench_bandai_model", "\n".join(body))
    return evals


if __name__ == "__main__":
    main()
