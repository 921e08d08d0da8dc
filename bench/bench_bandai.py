"""Convert all Bandai takes from scratch into a temporary cache; print JSON (target <= 180 s on 2 cores).

Measures the whole first open of `bandai:<archive>`: streaming the .tar.xz, parsing every BVH,
forward kinematics, rig mapping, canonicalisation and the .npy writes, over 2 processes.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from results import machine_line, write_section  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "data" / "bandai" / "bandai-namco-dataset-2-bvh.tar.xz"


def main() -> dict:
    if not ARCHIVE.is_file():
        return {"skipped": f"Bandai archive not found at {ARCHIVE}"}
    from engine.data.bandai import prepare_bandai

    with tempfile.TemporaryDirectory(prefix="bench_bandai_") as tmp:
        start = time.perf_counter()
        folder = prepare_bandai(ARCHIVE, root=Path(tmp), workers=2)
        seconds = time.perf_counter() - start
        manifest = json.loads((folder / "manifest.json").read_text())
    takes = manifest["takes"]
    result = {"takes": len(takes), "failed": len(manifest["failed"]),
              "frames": sum(t["frames"] for t in takes), "seconds": round(seconds, 1),
              "takes_per_s": round(len(takes) / seconds, 1)}
    write_section("bench_bandai", f"## Bandai conversion (bench/bench_bandai.py)\n\n{machine_line()}\n\n"
                                  f"```json\n{json.dumps(result, indent=1)}\n```")
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
