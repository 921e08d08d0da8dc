"""`python -m engine train`: run training phases on one or more datasets and write checkpoints.

    python -m engine train --data synthetic --preset tiny --phases all --out runs/tiny
    python -m engine train --data bandai:../shared/data/bandai/bandai-namco-dataset-2-bvh.tar.xz \
        --preset tiny --phases lexmlm,cmmm --out runs/b --set train.cmmm.steps=100 --max-minutes 30
    torchrun --nproc_per_node=2 -m engine train ...     (DDP: gloo on CPU, nccl on GPU)
    python -m engine train --data synthetic --phases evaluator,generator,sopo --base checkpoints/default --out runs/g
    python -m engine train --data synthetic --init checkpoints/default --phases align,caption --out runs/a

On a CPU, export THP_MEM_ALLOC_ENABLE=1 (PyTorch's transparent huge pages; ~20% faster steps here).
Output: OUT/metrics.jsonl, OUT/<phase>/ checkpoints (resumable), OUT/ the final model (manifest.json);
the generation phases write OUT/evaluator/, OUT/generator/, OUT/sopo/ (engine/train/generation_run.py).
"""
from __future__ import annotations


def add_parser(sub):
    parser = sub.add_parser("train", help="train the lexical motion-language model (phases, checkpoints)",
                            description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None,
                        help="dataset spec(s), comma-separated for joint training (default: the config's data.specs)")
    parser.add_argument("--preset", default="tiny", help="tiny (CPU, minutes) or paper (GPU, the paper's epochs)")
    parser.add_argument("--phases", default="all",
                        help="all | dense | comma list of lexmlm,cmmm,lexmmm,lexcmlp,caption,dense,"
                             "evaluator,generator,sopo")
    parser.add_argument("--base", default=None,
                        help="lexical checkpoint the generator phases condition on when this run trains no "
                             "lexical phase (sets train.generator.base), e.g. checkpoints/default")
    parser.add_argument("--init", default=None,
                        help="checkpoint the lexical phases start from instead of the base text model (sets "
                             "train.init), e.g. --init checkpoints/default --phases align,caption")
    parser.add_argument("--out", required=True, help="output folder (checkpoints, metrics.jsonl)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out (done phases are skipped)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. model.motion_depth=6 or train.lexcmlp.steps=100 (repeatable)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="time budget: stop cleanly and checkpoint when it runs out")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice); fewer when sharing the machine")
    parser.add_argument("--quiet", action="store_true", help="no per-log-step lines on stderr")
    parser.set_defaults(func=run)
    return parser


def run(args) -> dict:
    import sys

    from ..config import preset
    from ..config_overrides import apply_overrides
    from ..train.run import train

    if args.threads:
        import torch
        torch.set_num_threads(max(1, args.threads))
    config = preset(args.preset)
    specs = [s for s in args.data.split(",") if s.strip()] if args.data else None
    if specs:
        config = apply_overrides(config, [f"data.specs={args.data}"])
    config = apply_overrides(config, args.overrides)
    if getattr(args, "init", None):
        config = apply_overrides(config, [f"train.init={args.init}"])
    if getattr(args, "base", None):
        config = apply_overrides(config, [f"train.generator.base={args.base}"])

    def progress(record):
        if args.quiet or sys.stderr.isatty():   # a tty has the tqdm bar already
            return
        terms = " ".join(f"{k}={v:.4g}" for k, v in record.items()
                         if isinstance(v, float) and k not in ("time", "seconds", "seconds_per_step"))
        print(f"[{record['phase']} {record['step']}/{record['total_steps']}] {terms} "
              f"({record['seconds_per_step']:.2f} s/step)", file=sys.stderr, flush=True)

    return train(config, specs, args.phases, args.out, resume=args.resume, max_minutes=args.max_minutes,
                 progress=progress)
