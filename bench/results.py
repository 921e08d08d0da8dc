"""bench/RESULTS.md: each benchmark owns one section between its own markers and replaces only that.

Also the machine description every section states (numbers mean little without it), and where the real data
the benchmarks read lives.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
# the real data beside the repository (never inside it): ../shared/data
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BANDAI = f"bandai:{SHARED / 'bandai' / 'bandai-namco-dataset-2-bvh.tar.xz'}"


def machine() -> dict:
    info = Path("/proc/cpuinfo")
    cpu = next((l.split(":", 1)[1].strip() for l in info.read_text().splitlines() if l.startswith("model name")),
               platform.processor()) if info.exists() else platform.processor()
    mem = Path("/proc/meminfo")
    gb = next((int(l.split()[1]) // 2 ** 20 for l in mem.read_text().splitlines() if l.startswith("MemTotal")),
              None) if mem.exists() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_GB": gb, "python": platform.python_version()}


def machine_line() -> str:
    m = machine()
    return f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_GB']} GB, Python {m['python']}."


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Put `body` between `<!-- name:start -->` and `<!-- name:end -->`, adding the pair if absent."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    a, b = text.find(start), text.find(end)
    if a >= 0 and b > a:
        text = text[:a] + section + text[b + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def publish(section: str, heading: str, parts: list[str], write: bool = True) -> str:
    """The body of a section (its heading, the machine line, then `parts`), printed and, with `write`, put in
    RESULTS.md under `section`."""
    body = "\n\n".join([heading, machine_line(), *parts])
    print(body)
    if write:
        write_section(section, body)
    return body
