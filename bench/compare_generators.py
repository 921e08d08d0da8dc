"""Generators side by side, scored by one independent evaluator from the same noise.

    python bench/compare_generators.py --checkpoint runs/compare_gen [--data synthetic] [--repetitions 3]
        [--threads 1] [--smoothing SIGMA] [--foot-lock on|off] [--guidance-below T] [--split test|val] [--section NAME] [--title "..."]
        [--no-write]

The checkpoint folder holds a lexical model (the condition and the reward), `evaluator/` and any number of
generator folders (engine/generator_checkpoint.generator_variants: `generator`, `sopo`, or any name), e.g. runs of
different recipes gathered by symbolic links. engine/evaluation/generation.py scores every one on the test split
(R-precision, MM-Dist, FID, diversity, multimodality, physical checks; mean and 95% interval over the
repetitions); the physical checks are also given as multiples of the real motions'. `--split val` scores the
validation split instead, to choose a setting without looking at the test split. Prints JSON and writes a
section of bench/RESULTS.md (default: compare_generators).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generation_tables import physical_table, rows_table  # noqa: E402
from results import machine_line, write_section  # noqa: E402


def common_arguments(doc: str, section: str) -> argparse.ArgumentParser:
    """The options every generator benchmark shares: --checkpoint, --data, --threads, --guidance-below, --section,
    --no-write (bench/generator_root.py uses them too)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", default="synthetic")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--guidance-below", type=int, default=None,
                    help="guidance only at diffusion steps t below this, 1-1000 (default: each generator's own)")
    ap.add_argument("--section", default=section)
    ap.add_argument("--no-write", action="store_true")
    return ap


def open_checkpoint(args):
    """Torch on args.threads threads, then (the served checkpoint, the dataset)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    torch.set_num_threads(args.threads)
    from engine.data import open_dataset
    from engine.inference.service import ModelService
    return ModelService(args.checkpoint), open_dataset(args.data)


def main(argv=None) -> dict:
    ap = common_arguments(__doc__, "compare_generators")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--max-prompts", type=int, default=None)
    ap.add_argument("--smoothing", type=float, default=None,
                    help="output smoothing in frames for every generator (default: each one's own; 0 = raw output)")
    ap.add_argument("--foot-lock", choices=("on", "off"), default=None,
                    help="lock planted feet for every generator (default: each one's own train.generator.foot_lock)")
    ap.add_argument("--split", default="test", help="the split whose captions and motions are scored (val to choose)")
    ap.add_argument("--title", default="Generators side by side")
    args = ap.parse_args(argv)
    from engine.evaluation.generation import generation_eval

    service, dataset = open_checkpoint(args)
    section = generation_eval(service, dataset, dataset.split(args.split), repetitions=args.repetitions,
                              max_prompts=args.max_prompts, smoothing=args.smoothing,
                              guidance_below=args.guidance_below,
                              foot_lock=None if args.foot_lock is None else args.foot_lock == "on")
    if section is None or "rows" not in section:
        raise SystemExit(f"nothing to compare in {args.checkpoint}: {section}")
    result = {"checkpoint": args.checkpoint, "data": args.data, "split": args.split, "threads": args.threads,
              "evaluation": section}
    print(json.dumps(result, indent=1, default=float))
    if not args.no_write:
        write_section(args.section, markdown(result, args.title))
    return result


def markdown(r: dict, title: str) -> str:
    ev = r["evaluation"]
    return "\n".join([
        f"## {title} (bench/compare_generators.py)", "",
        f"{machine_line()} {r['threads']} thread(s).", "",
        f"Data `{r['data']}`, generators of `{Path(r['checkpoint']).name}` ({', '.join(ev['order'][1:])}); "
        f"{ev['prompts']} {r.get('split', 'test')} prompts x {ev['repetitions']} repetitions, R-precision in batches "
        f"of {ev['r_precision_batch']}, {ev['sampling_steps']} DDIM steps, guidance {ev['guidance']}"
        + (f" at the steps t < {ev['guidance_below']}" if ev.get("guidance_below", 1000) < 1000 else "")
        + ", output smoothing "
        f"{ev.get('smoothing_frames', 0)} frames, feet locked: "
        f"{', '.join(n for n, on in ev.get('foot_lock', {}).items() if on) or 'none'}. Mean ± 95% interval.",
        "", *rows_table(ev), "", "Physical checks against the data's (the generation issue's bar: 1.5x, 2 cm, 5%):", "",
        *physical_table(ev)])


if __name__ == "__main__":
    main()
