"""Reliability and security, measured with real components: hostile uploads, SIGKILL during training, load
while training, a full queue.

    python bench/bench_reliability.py [--uploads 1000] [--cli-processes 1000] [--kills 20]
                                      [--searches 50] [--captions 10] [--quick] [--no-write]

- uploads: tests/hostile_files.py makes --uploads hostile files (seeded); each goes through Engine.load_file,
  through the CLI's main() and (for --cli-processes of them) `python -m engine convert` as a process, and
  through a real launch.py server's Library upload handler (gradio_client). Counts: clear errors, crashes,
  unclear messages, files still valid after mutation; the server still answering; its peak RSS (VmHWM);
  files written outside the app's folders.
- kills: a tiny `python -m engine train` run (the app's worker) SIGKILLed --kills times at random moments and
  resumed, while the app serves keyword searches all along: corrupt files, final weights against an
  uninterrupted run, metrics.jsonl, searches served / failed.
- load: --searches concurrent searches (half keywords, half free text) and --captions captions, idle and while
  a training run goes: errors, p50 / p95; then a burst of joins beyond the queue's limit.

Loopback only (127.0.0.1); prints JSON and writes its section of bench/RESULTS.md with the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from results import machine_line, write_section  # noqa: E402
from tests.hostile_files import MARKER, make_cases, one_per_kind  # noqa: E402
from tests.hostile_verdicts import (summarize, through_cli_in_process, through_cli_subprocess,  # noqa: E402
                                    through_engine, upload_through_server)
from tests.reliability_load import burst, latency_summary, request_mix, run_concurrently  # noqa: E402
from tests.reliability_server import (client_for, find_endpoint, find_named, handler_message, raw_upload,  # noqa: E402
                                      running_server, snapshot)
from tests.reliability_training import (KILL_MOMENTS, TRAIN_DATA, finish, job, kill_and_resume,  # noqa: E402
                                        metrics_problems, small_overrides, weight_mismatches)


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"


# ------------------------------------------------------------------------------------------ uploads
def bench_uploads(work: Path, n: int, cli_processes: int, seed: int, log) -> dict:
    cases, skipped = make_cases(work / "hostile", n=n, seed=seed)
    log(f"uploads: {len(cases)} hostile files ({len(one_per_kind(cases))} kinds)")
    out: dict = {"files": len(cases), "kinds": len(one_per_kind(cases)), "left_out": skipped}
    began = time.time()
    out["engine"] = _counts(through_engine(cases), began)
    began = time.time()
    out["cli_main"] = _counts(through_cli_in_process(cases, work), began)
    began = time.time()
    chosen = cases[:cli_processes]
    out["cli_processes"] = _counts(through_cli_subprocess(chosen, work), began)
    log(f"uploads: engine {out['engine']['crash']} crashes, CLI {out['cli_processes']['crash']} crashes")

    roots = [Path("/tmp"), Path("/etc"), ROOT, ROOT.parent]
    named_before = set(find_named(roots, MARKER, allowed=(work / "hostile",)))
    repo_before = snapshot(ROOT, skip_paths=(ROOT / "runs",))
    started = time.time()
    with running_server(work / "server_uploads") as server:
        client = client_for(server)
        upload = find_endpoint(client, "motion_path", "mapping_path", fallback="/show_upload")
        refresh = find_endpoint(client, "spec_value", "query_value", "split_value", fallback="/refresh")
        rows = client.predict("synthetic", "", "all", api_name=refresh)
        start_mb = server.peak_rss_mb()
        tmp_before = snapshot(server.tmpdir)
        began = time.time()
        outcomes = upload_through_server(server, client, cases, upload)
        out["server"] = _counts(outcomes, began)
        hostile_names = 0
        for name in ("../../" + MARKER + "-escape.bvh", MARKER + "\x00nul.bvh", "/etc/" + MARKER + "-abs.bvh"):
            status, body = raw_upload(server, name, b"HIERARCHY\n")
            stored = Path(json.loads(body)[0]) if status == 200 else None
            hostile_names += stored is not None and "/" not in stored.name and str(stored).startswith(str(server.gradio_tmp))
        out["server"]["hostile_names_kept_in_upload_folder"] = f"{hostile_names}/3"
        out["server"]["still_answering"] = server.alive() and client.predict("synthetic", "", "all", api_name=refresh) == rows
        out["server"]["peak_rss_MB"] = {"after_start": round(start_mb or 0), "after_uploads": round(server.peak_rss_mb() or 0)}
        written_tmp = sorted(snapshot(server.tmpdir) - tmp_before)
    leaked = sorted(set(find_named(roots, MARKER, allowed=(work / "hostile", server.gradio_tmp))) - named_before)
    repo_new = [p for p in snapshot(ROOT, skip_paths=(ROOT / "runs",)) - repo_before
                if (MARKER in p or Path(p).suffix.lower() in (".bvh", ".npy", ".amc", ".asf", ".json", ".tmp"))
                and "/index/" not in p and (ROOT / p).exists() and (ROOT / p).stat().st_mtime >= started]
    out["written_outside_app_folders"] = len(leaked) + len(written_tmp) + len(repo_new)
    out["written_examples"] = (leaked + written_tmp + repo_new)[:5]
    log(f"uploads: server {out['server']['crash']} crashes, peak {out['server']['peak_rss_MB']}")
    return out


def _counts(outcomes, began: float) -> dict:
    summary = summarize(outcomes)
    return {"tried": summary["tried"], "clear_errors": summary["clear"], "valid_after_mutation": summary["ok"],
            "unclear": summary["unclear"], "crash": summary["crash"], "clear_error_pct": summary["clear_error_pct"],
            "seconds": round(time.time() - began, 1), "bad": summary["bad"][:5]}


# ------------------------------------------------------------------------------------------ kills + load
class SearchLoop(threading.Thread):
    """Keyword searches against the app, one after another, until stopped: does it keep serving?"""

    def __init__(self, client, api: str):
        super().__init__(daemon=True)
        self.client, self.api, self.stop, self.seconds, self.errors = client, api, threading.Event(), [], []

    def run(self):
        words = ["walk", "wave left", "run", "jump", "turn right", "kick"]
        while not self.stop.is_set():
            began = time.perf_counter()
            try:
                outputs = self.client.predict(random.choice(words), "keywords", 10, "synthetic", api_name=self.api)
                if handler_message(outputs):
                    self.errors.append(handler_message(outputs))
            except Exception as err:  # noqa: BLE001
                self.errors.append(f"{type(err).__name__}: {err}")
            self.seconds.append(time.perf_counter() - began)
            time.sleep(0.2)


def bench_kills_and_load(work: Path, kills: int, searches: int, captions: int, seed: int, log,
                         steps: int) -> tuple[dict, dict]:
    from engine.train.worker import TrainingJob

    with running_server(work / "server_load") as server:
        client = client_for(server, max_workers=max(64, 2 * (searches + captions)))
        search = find_endpoint(client, "query_value", "mode_value", "k_value", fallback="/run_search")
        refresh = find_endpoint(client, "spec_value", "query_value", "split_value", fallback="/refresh")
        clip_ids = [row[0] for row in client.predict("synthetic", "", "all", api_name=refresh)[0]["data"][:100]]
        mix = request_mix(client, searches, captions, clip_ids, seed)
        warm = run_concurrently(client, [m for m in mix if m[0] == "caption"][:1] + [m for m in mix if "search" in m[0]][:2])

        # -- SIGKILL and resume while the app serves searches
        loop = SearchLoop(client, search)
        loop.start()
        straight = work / "straight"
        code = finish(job(straight, steps=steps).start())
        log(f"kills: uninterrupted run exit {code}")
        stats = kill_and_resume(work / "killed", kills, random.Random(seed), log=log, steps=steps)
        loop.stop.set()
        loop.join()
        mismatched = weight_mismatches(straight, work / "killed") if not stats["problems"] else ["not compared"]
        kill = {"kills": stats["kills"], "resumes": stats["attempts"] - 1, "steps_per_phase": steps,
                "kill_moments": {kind: sum(m[0] == kind for m in stats["kill_moments"])
                                 for kind in ("starting",) + KILL_MOMENTS},
                "resumed_from_mid_phase_checkpoints": len(stats["resumed_from"]),
                "corrupt_or_unreadable_files": len(stats["problems"]), "problems": stats["problems"][:5],
                "checkpoint_reads_while_running": stats["watcher_reads"],
                "weight_mismatches": len(mismatched), "metrics_problems": metrics_problems(work / "killed", steps),
                "leftover_temp_files": len(list((work / "killed").rglob("*.tmp"))),
                "searches_while_killing": {"served": len(loop.seconds) - len(loop.errors), "errors": len(loop.errors),
                                           "error_examples": loop.errors[:3],
                                           **_percentiles(loop.seconds)}}
        log(f"kills: {json.dumps(kill)[:300]}")

        # -- load: idle, then while training
        idle = latency_summary(run_concurrently(client, mix))
        training = TrainingJob(TRAIN_DATA, work / "load_run", "tiny", "lexmlm,cmmm",
                               small_overrides(steps=5000, checkpoint_every=200)).start()
        try:
            while training.running and not training.metrics():
                time.sleep(0.2)
            busy = latency_summary(run_concurrently(client, mix))
            busy["training_steps_meanwhile"] = len(training.metrics())
            busy["training_ran_throughout"] = training.running
        finally:
            training.cancel()
        full = burst(server, search, ["walk left", "keywords", 10, "synthetic"], n=3 * 64 + 8)
        load = {"concurrent": {"searches": searches, "captions": captions}, "warm_up_errors": sum(bool(r["error"]) for r in warm),
                "idle": idle, "while_training": busy, "queue_full_burst": full,
                "still_answering": server.alive() and "hits" in client.predict("walk", "keywords", 5, "synthetic",
                                                                                 api_name=search)[0],
                "server_peak_rss_MB": round(server.peak_rss_mb() or 0)}
        log(f"load: idle errors {idle['errors']}, training errors {busy['errors']}, burst {full['codes']}")
    return kill, load


def _percentiles(seconds: list[float]) -> dict:
    import numpy as np
    if not seconds:
        return {}
    return {"p50_ms": round(1000 * float(np.percentile(seconds, 50)), 1),
            "p95_ms": round(1000 * float(np.percentile(seconds, 95)), 1)}


# ------------------------------------------------------------------------------------------ main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uploads", type=int, default=1000)
    ap.add_argument("--cli-processes", type=int, default=None, help="uploads also run as CLI processes (default: all)")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--searches", type=int, default=50)
    ap.add_argument("--captions", type=int, default=10)
    ap.add_argument("--steps", type=int, default=30, help="steps per phase of the killed run (enough for --kills)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", type=Path, default=None,
                    help="a previous run's JSON output: sections skipped with --skip are taken from it")
    ap.add_argument("--quick", action="store_true", help="300 uploads, 4 kills, 14 + 6 concurrent requests")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: uploads,kills")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.uploads, args.kills, args.searches, args.captions, args.steps = 300, 4, 14, 6, 8
    cli_processes = args.uploads if args.cli_processes is None else args.cli_processes
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    def log(text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    previous = json.loads(args.reuse.read_text()) if args.reuse else {}
    result = {"machine": machine_line(), "load_before": load_line()}
    began = time.time()
    with tempfile.TemporaryDirectory(prefix="bench_reliability_") as tmp:
        work = Path(tmp)
        if "uploads" not in skip:
            result["uploads"] = bench_uploads(work, args.uploads, cli_processes, args.seed, log)
        elif "uploads" in previous:
            result["uploads"] = {**previous["uploads"], "from_earlier_run": previous.get("load_before")}
        if "kills" not in skip:
            result["kills"], result["load"] = bench_kills_and_load(work, args.kills, args.searches, args.captions,
                                                                   args.seed, log, args.steps)
        elif "kills" in previous:
            result["kills"], result["load"] = previous["kills"], previous["load"]
    result["load_after"] = load_line()
    result["seconds"] = round(time.time() - began)
    print(json.dumps(result, indent=1))
    if not args.no_write:
        write_section("bench_reliability", markdown(result, args))
    return result


def markdown(r: dict, args) -> str:
    lines = ["## Reliability: hostile uploads, SIGKILL during training, load while training (bench/bench_reliability.py)",
             "", f"{r['machine']} Measured with {r['load_before']} at the start and {r['load_after']} at the end "
             "(a long training run and other engineers' jobs shared the machine); every test and request on 127.0.0.1; "
             f"{r['seconds']} s in all. Sizes: {args.uploads} hostile files, {args.kills} kills, "
             f"{args.searches} + {args.captions} concurrent requests.", ""]
    if "uploads" in r:
        u = r["uploads"]
        lines += ["| uploads through | tried | clear errors | still valid after mutation | unclear | crashes | clear % |",
                  "|---|---|---|---|---|---|---|"]
        for key, label in (("engine", "Engine.load_file"), ("cli_main", "CLI main() in process"),
                           ("cli_processes", "`python -m engine convert` processes"), ("server", "launch.py server (gradio_client)")):
            c = u[key]
            lines.append(f"| {label} | {c['tried']} | {c['clear_errors']} | {c['valid_after_mutation']} | {c['unclear']} | "
                         f"{c['crash']} | {c['clear_error_pct']} |")
        s = u["server"]
        lines += ["", f"Server still answering after the uploads: {s['still_answering']}; peak RSS (VmHWM) "
                  f"{s['peak_rss_MB']['after_start']} MB after start, {s['peak_rss_MB']['after_uploads']} MB after the uploads; "
                  f"hostile upload names kept in the upload folder: {s['hostile_names_kept_in_upload_folder']}; files written "
                  f"outside the app's folders: {u['written_outside_app_folders']}. {u['kinds']} kinds of hostile file "
                  f"({', '.join(u['left_out']) or 'real samples present'})."
                  + (f" (Uploads measured in an earlier run of this script, at {u['from_earlier_run']}.)"
                     if u.get("from_earlier_run") else "")]
    if "kills" in r:
        k, load = r["kills"], r["load"]
        sw = k["searches_while_killing"]
        km = k["kill_moments"]
        lines += ["", "| SIGKILLs (starting / writing a checkpoint / just after one / mid-steps) | resumes | resumed from a "
                  "mid-phase checkpoint | corrupt or unreadable files | checkpoint reads while running | weight mismatches "
                  "| metrics problems | temp files left | searches served / failed meanwhile |",
                  "|---|---|---|---|---|---|---|---|---|",
                  f"| {k['kills']} ({km.get('starting')} / {km.get('writing')} / {km.get('after_checkpoint')} / {km.get('steps')}) "
                  f"| {k['resumes']} | {k.get('resumed_from_mid_phase_checkpoints')} | {k['corrupt_or_unreadable_files']} "
                  f"| {k['checkpoint_reads_while_running']} | {k['weight_mismatches']} | {len(k['metrics_problems'])} "
                  f"| {k['leftover_temp_files']} | {sw.get('served')} / {sw.get('errors')} (p50 {sw.get('p50_ms')} ms, "
                  f"p95 {sw.get('p95_ms')} ms) |", "",
                  f"The killed run: lexmlm then cmmm, {k.get('steps_per_phase')} steps each, a checkpoint every 2 steps, "
                  "started and resumed by the app's worker (engine/train/worker.py); its final weights are compared "
                  "tensor by tensor (atol 1e-6) with an uninterrupted run's.", "",
                  "| concurrent requests | errors idle | errors while training | p50 / p95 ms idle | p50 / p95 ms while training |",
                  "|---|---|---|---|---|"]
        for kind in ("keyword search", "text search", "caption", "all"):
            if kind in load["idle"]:
                a, b = load["idle"][kind], load["while_training"][kind]
                lines.append(f"| {kind} ({a['n']}) | {load['idle']['errors'] if kind == 'all' else ''} | "
                             f"{load['while_training']['errors'] if kind == 'all' else ''} | {a['p50_ms']} / {a['p95_ms']} | "
                             f"{b['p50_ms']} / {b['p95_ms']} |")
        f = load["queue_full_burst"]
        lines += ["", f"Queue limit (max_size 64, 4 running per kind): a burst of {f['joins']} joins got {f['accepted']} "
                  f"accepted (all {f['completed']} completed) and {f['busy']} immediate 'busy' answers "
                  f"(HTTP 503 {f['busy_answers'][:1]}), the slowest in {f['slowest_busy_answer_s']} s; server still answering: "
                  f"{load['still_answering']}; training steps meanwhile: {load['while_training'].get('training_steps_meanwhile')}.",
                  "", "Requests are served one at a time by the model service's lock (engine/inference/service.py), so "
                  "latency under concurrency is mostly waiting in line; the p50 / p95 above are per request, from "
                  "submission to answer, with every request of the batch submitted at once."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
