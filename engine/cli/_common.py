"""Options and progress bars shared by the verbs that use a checkpoint."""
from __future__ import annotations

import sys


def add_checkpoint_options(parser, library: bool = True) -> None:
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: checkpoints/default)")
    if library:
        parser.add_argument("--library", default="synthetic", help="dataset spec searched or indexed (default: synthetic)")


def engine_for(args):
    from ..facade import Engine

    return Engine(checkpoint=args.checkpoint, data=getattr(args, "library", None) or "synthetic")


def engine_and_motion(args):
    """(the engine, the verb's motion file `args.file` read with its `--mapping`)."""
    engine = engine_for(args)
    return engine, engine.load_file(args.file, args.mapping)


class TqdmProgress:
    """A `progress(done, total, stage)` callback drawing one tqdm bar per stage on stderr."""

    def __init__(self):
        self.bar, self.stage = None, None

    def __call__(self, done: int, total: int, stage: str = "") -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.bar, self.stage = tqdm(total=total, desc=stage, file=sys.stderr, leave=False), stage
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
