"""Training runs as their folders record them: run.json, metrics.jsonl, the log, manifests, eval.json; the
estimates of time left. Plain functions read by the facade's runs part (engine/facade_runs.py)."""
from __future__ import annotations

import json as _json
import os
import time
from pathlib import Path


RUNS_ENV = "MOTIONLEX_RUNS"
RUN_RECORD = "run.json"          # what the app asked for: data, preset, phases, overrides, budget, times
STARTUP_S = 30.0                 # loading torch, the text encoder and the data before the first step
# Seconds per step of the tiny preset on 2 CPU cores (README: Bandai, one uninterrupted run); used when no
# earlier run of the same preset has logged its own rate.
DEFAULT_STEP_S = {"lexmlm": 0.28, "cmmm": 0.37, "lexmmm": 0.38, "lexcmlp": 0.80, "align": 0.6, "caption": 0.16,
                  "dense": 0.4, "evaluator": 0.4, "generator": 0.3, "sopo": 2.0}
LOG_LINES = 60
ELSEWHERE = "elsewhere.json"     # in the runs folder: run folders started outside it


def read_json(path: Path):
    try:
        return _json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, value) -> None:
    from .atomic import atomic_write_bytes
    atomic_write_bytes(Path(path), _json.dumps(value, indent=1, default=str).encode())


def read_records(folder: Path) -> list[dict]:
    path = Path(folder) / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = _json.loads(line)
        except ValueError:
            continue   # a half-written last line
        if isinstance(record, dict) and "phase" in record and "step" in record:
            records.append(record)
    return records


def remember_run(root: Path, folder: Path) -> None:
    """Runs started outside the runs folder are listed in <runs>/elsewhere.json, so a restarted server finds them."""
    try:
        if folder.resolve().parent == root.resolve():
            return
        known = [str(p) for p in remembered_runs(root)]
        if str(folder) not in known:
            root.mkdir(parents=True, exist_ok=True)
            write_json(root / ELSEWHERE, (known + [str(folder)])[-200:])
    except OSError:
        pass   # listing is a convenience; the run itself is unaffected


def remembered_runs(root: Path) -> list[Path]:
    found = read_json(Path(root) / ELSEWHERE)
    return [Path(p) for p in found if isinstance(p, str)] if isinstance(found, list) else []


def modified(folder: Path) -> float:
    times = [p.stat().st_mtime for p in (folder / "metrics.jsonl", folder / "train.log", folder / RUN_RECORD,
                                         folder / "manifest.json") if p.is_file()]
    return max(times) if times else (folder.stat().st_mtime if folder.exists() else 0.0)


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def measured_rates(engine, preset: str) -> tuple[dict, float]:
    """{phase: (median seconds per step, source)} and the start-up seconds, from the metrics.jsonl of earlier
    runs of this preset (newest first) and of the served checkpoint."""
    folders = [Path(engine.checkpoint)] + [Path(r["out_dir"]) for r in engine.training_runs()[:10]]
    rates, startups = {}, []
    for folder in folders:
        cfg = read_json(folder / "config.json") or {}
        record = read_json(folder / RUN_RECORD) or {}
        if record.get("preset", cfg.get("preset", preset)) != preset and record:
            continue
        records = read_records(folder)
        for phase in dict.fromkeys(r["phase"] for r in records):
            if phase in rates:
                continue
            values = sorted(r["seconds_per_step"] for r in records if r["phase"] == phase
                            and isinstance(r.get("seconds_per_step"), (int, float)))
            if values:
                rates[phase] = (round(values[len(values) // 2], 4), f"measured in {folder.name}")
        if records and record.get("started") and isinstance(records[0].get("time"), (int, float)):
            first = records[0]
            startups.append(first["time"] - record["started"] - float(first.get("seconds", 0.0)))
    startups = [s for s in startups if 0 < s < 600]
    return rates, (sorted(startups)[len(startups) // 2] if startups else STARTUP_S)


def last_json(text: str) -> dict | None:
    """The CLI's --json summary: the last top-level JSON object printed in the log."""
    start = text.rfind("\n{\n")
    start = 0 if start < 0 and text.startswith("{\n") else start
    if start < 0:
        return None
    try:
        value = _json.loads(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def log_text(folder: Path, lines: int = LOG_LINES) -> tuple[str, str]:
    """(the last `lines` lines of train.log, its whole text up to 400 kB from the end)."""
    path = folder / "train.log"
    if not path.is_file():
        return "", ""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 400_000))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]), text


def phases_done(folder: Path, planned: list[str]) -> list[str]:
    from .config import ALL_PHASES

    done = []
    for name in planned or list(ALL_PHASES):
        manifest = read_json(folder / name / "manifest.json")
        if manifest and manifest.get("complete"):
            done.append(name)
    return done


def is_usable(folder: Path) -> bool:
    """A final model the app can serve: manifest.json complete, with its weights file present."""
    manifest = read_json(folder / "manifest.json")
    if not isinstance(manifest, dict) or not manifest.get("complete", False):
        return False
    weights = manifest.get("weights")
    return bool(weights) and (folder / str(weights)).is_file()


def run_status(folder: Path, job, plan: dict | None) -> dict:
    now = time.time()
    record = read_json(folder / RUN_RECORD) or {}
    plan = plan or record.get("plan") or {}
    records = read_records(folder)
    log, text = log_text(folder)
    summary = last_json(text) if text else None
    usable = is_usable(folder)
    planned = [r["phase"] for r in plan.get("phases", [])] or list(dict.fromkeys(r["phase"] for r in records))
    done = phases_done(folder, planned)
    started = job.started if job is not None and job.started else record.get("resumed") or record.get("started")
    running = job is not None and job.running
    attempt = [r for r in records if started is None or r.get("time", now) >= started - 1]
    code = None if job is None or job.process is None else job.process.poll()
    stopped_because = (summary or {}).get("stopped")
    if running:
        state = "running" if attempt else "starting"
    elif job is not None:
        state = ("cancelled" if job.cancelled else "failed" if code not in (0, None) else "done" if usable
                 else "stopped")
    elif usable:
        state = "done"
    elif record.get("cancelled"):
        state = "cancelled"
    elif stopped_because:
        state = "stopped"
    elif summary is None and text.rstrip().splitlines()[-1:] and "error" in text.rstrip().splitlines()[-1].lower():
        state = "failed"
    elif records or record:
        state = "incomplete"
    else:
        state = "none"
    if state == "stopped" and not stopped_because:
        stopped_because = "ended before the final model was written"
    last = records[-1] if records else {}
    ended = None if running else max([t for t in (record.get("ended"), modified(folder)) if t] or [now])
    elapsed = None if started is None else max(0.0, (now if running else ended) - started)
    left, budget_left = None, None
    if record.get("max_minutes") and started:
        budget_left = max(0.0, started + 60.0 * float(record["max_minutes"]) - now) if running else None
    if running:
        left = time_left(plan, attempt, elapsed or 0.0)
        if budget_left is not None and left is not None:
            left = min(left, budget_left)
    labels = {"starting": "starting (loading the data and the model)", "running": "running",
              "done": "done: the final model is written", "cancelled": "cancelled",
              "stopped": "stopped: " + {"time budget": "the time budget ran out",
                                        "signal": "a stop signal (SIGTERM) from outside the app"}.get(
                  stopped_because, stopped_because or ""),
              "failed": f"failed{f' (exit code {code})' if code not in (None, 0) else ''}: see the log",
              "incomplete": "incomplete: no final model (interrupted, or the server that ran it stopped)",
              "none": "no run yet"}
    resumable = (not running and not usable and bool(record)
                 and any((folder / p / "manifest.json").is_file() for p in planned or done))
    return {"state": state, "label": labels[state], "phase": last.get("phase"), "step": last.get("step"),
            "total_steps": last.get("total_steps"), "phases": planned, "phases_done": done,
            "elapsed_s": elapsed, "left_s": left, "budget_left_s": budget_left, "usable": usable,
            "resumable": resumable, "running": running, "out_dir": str(folder), "run": folder.name,
            "log": log, "records": len(records), "stopped_because": stopped_because,
            "exit_code": code, "max_minutes": record.get("max_minutes"), "current": job is not None, "message": ""}


def time_left(plan: dict, records: list[dict], elapsed: float) -> float | None:
    """Seconds left: the current phase at its measured rate, later phases at the plan's rates scaled by how
    the measured rate compares with the planned one; before the first step, the plan minus the time spent."""
    rows = plan.get("phases") or []
    if not records:
        return max(0.0, plan["total_s"] - elapsed) if plan.get("total_s") else None
    last = records[-1]
    current = [r for r in records if r["phase"] == last["phase"]][-5:]
    rates = sorted(r["seconds_per_step"] for r in current if isinstance(r.get("seconds_per_step"), (int, float)))
    if not rates or not last.get("total_steps"):
        return None
    rate = rates[len(rates) // 2]
    left = max(0, last["total_steps"] - last["step"]) * rate
    names = [r["phase"] for r in rows]
    if last["phase"] in names:
        i = names.index(last["phase"])
        planned = rows[i]["seconds_per_step"] or rate
        left += sum(r["steps"] * r["seconds_per_step"] * rate / planned for r in rows[i + 1:])
    return left


def eval_table(evaluated: dict | None) -> list[list]:
    """The headline rows of an eval.json as [metric, value] (empty without one)."""
    if not isinstance(evaluated, dict):
        return []
    rows = []
    retrieval = evaluated.get("retrieval") or {}
    for direction in ("t2m", "m2t"):
        for metric in ("R@1", "R@5", "R@10", "MedR"):
            value = (retrieval.get(direction) or {}).get(metric)
            if isinstance(value, (int, float)):
                rows.append([f"{direction} {metric}", round(float(value), 2)])
    model = (evaluated.get("captioning") or {}).get("model") or {}
    for metric in ("CIDEr", "BLEU@4", "ROUGE-L"):
        if isinstance(model.get(metric), (int, float)):
            rows.append([f"caption {metric}", round(float(model[metric]), 3)])
    lexical = evaluated.get("lexical") or {}
    for key, name in (("side", "side fidelity %"), ("content", "content-word fidelity %")):
        if isinstance(lexical.get(key), (int, float)):
            rows.append([name, round(float(lexical[key]), 1)])
    for key, value in (evaluated.get("feature_health") or {}).items():
        if isinstance(value, (int, float)):
            rows.append([f"feature health {key}", round(float(value), 3)])
    if evaluated.get("clips"):
        rows.append(["clips evaluated", evaluated["clips"]])
    return rows
