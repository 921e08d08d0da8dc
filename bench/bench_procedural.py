"""Time the procedural library: python bench/bench_procedural.py [--n 5000] [--workers 2] -> one JSON line."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine.data.procedural import generate_library  # noqa: E402
from results import machine_line, write_section  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=5000, help="number of clips")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="processes (the target is 5,000 clips in 60 s on 2 cores)")
    args = ap.parse_args()
    start = time.perf_counter()
    clips = generate_library(args.n, seed=args.seed, workers=args.workers)
    seconds = time.perf_counter() - start
    result = {"clips": len(clips), "seconds": round(seconds, 2), "clips_per_s": round(len(clips) / seconds, 1),
              "frames": int(sum(c.motion.frames for c in clips)), "workers": args.workers}
    print(json.dumps(result))
    write_section("bench_procedural", f"## Procedural library (bench/bench_procedural.py)\n\n{machine_line()}\n\n"
                                      f"Target: 5,000 clips in <= 60 s on 2 cores.\n\n```json\n{json.dumps(result, indent=1)}\n```")


if __name__ == "__main__":
    main()
