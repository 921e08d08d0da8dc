"""Shared by tests/test_reliability_*.py and bench/bench_reliability.py (no tests here): a real launch.py
server on a free loopback port, its peak memory, its API endpoints found by their parameters, the
messages its handlers return, uploads with hostile names, and file-tree snapshots.

Loopback only: every URL here is http://127.0.0.1:<port>/.
"""
from __future__ import annotations

import contextlib
import html
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
# The small overrides of tests/test_train_helpers.py (seconds-long runs), as --set arguments.
TRAIN_DATA = "synthetic?n=60&seed=3"


def small_overrides(steps: int = 6, batch: int = 8, checkpoint_every: int = 2, phases=("lexmlm", "cmmm")) -> list[str]:
    from tests.test_train_helpers import SMALL
    sets = [s for s in SMALL if not s.startswith("train.checkpoint_every=")]
    return sets + [f"train.checkpoint_every={checkpoint_every}"] + [
        f"train.{p}.{k}={v}" for p in phases for k, v in (("steps", steps), ("batch_size", batch))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    port: int
    gradio_tmp: Path          # GRADIO_TEMP_DIR: where uploads land
    tmpdir: Path              # TMPDIR of the server process
    log_path: Path
    env: dict = field(default_factory=dict)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def peak_rss_mb(self) -> float | None:
        return vm_hwm_mb(self.proc.pid)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a live process, from /proc (psutil is not needed)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def running_server(work: Path, *args: str, wait_s: float = 240, env_extra: dict | None = None):
    """launch.py --port FREE [args] with its own GRADIO_TEMP_DIR and TMPDIR under `work`; yields a Server
    once / answers, and stops it (SIGTERM, then SIGKILL of the process this started) afterwards."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    gradio_tmp, tmpdir = work / "gradio_tmp", work / "server_tmp"
    gradio_tmp.mkdir(exist_ok=True)
    tmpdir.mkdir(exist_ok=True)
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", GRADIO_TEMP_DIR=str(gradio_tmp), TMPDIR=str(tmpdir), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", **(env_extra or {}))
    log_path = work / f"server-{port}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "launch.py", "--host", LOOPBACK, "--port", str(port), *args], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server(proc, f"http://{LOOPBACK}:{port}/", port, gradio_tmp, tmpdir, log_path, env)
    try:
        deadline = time.time() + wait_s
        while True:
            try:
                with urllib.request.urlopen(server.url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"launch.py did not answer on {server.url}: {server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def client_for(server: Server, **kwargs):
    from gradio_client import Client
    return Client(server.url, verbose=False, **kwargs)


def find_endpoint(client, *parameters: str, fallback: str | None = None) -> str:
    """The api_name of the first named endpoint whose parameters start with these names (the app's tabs
    are being rewritten: find the handler by what it takes, not by a remembered name)."""
    info = client.view_api(return_format="dict", print_info=False)
    for name, endpoint in info["named_endpoints"].items():
        names = [p["parameter_name"] for p in endpoint["parameters"]]
        if names[:len(parameters)] == list(parameters):
            return name
    if fallback:
        return fallback
    raise LookupError(f"no endpoint takes {parameters}: {sorted(info['named_endpoints'])}")


_ERROR_DIV = re.compile(r'<div class="ml-error">.*?</b>:\s*(.*?)</div>', re.S)


def handler_message(outputs) -> str | None:
    """The message of a guarded handler's error box among its outputs (app/feedback.py), else None."""
    for value in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
        if isinstance(value, str):
            match = _ERROR_DIV.search(value)
            if match:
                return html.unescape(match.group(1)).strip()
    return None


def raw_upload(server: Server, name: str, content: bytes) -> tuple[int, str]:
    """POST one file to Gradio's upload route under an exact (hostile) file name; -> (status, body)."""
    import httpx
    response = httpx.post(server.url + "gradio_api/upload", files=[("files", (name, content, "application/octet-stream"))],
                          timeout=60)
    return response.status_code, response.text


def call_raw(server: Server, api_name: str, data: list, timeout: float = 120) -> tuple[str, object]:
    """Call an endpoint through Gradio's REST API (/gradio_api/call/<name>) with raw data, as a
    hand-written client would; -> (last SSE event name, its data)."""
    import httpx
    url = server.url + "gradio_api/call/" + api_name.lstrip("/")
    response = httpx.post(url, json={"data": data}, timeout=timeout)
    if response.status_code != 200:
        return f"http {response.status_code}", response.text
    event_id = response.json()["event_id"]
    event, payload = None, None
    with httpx.stream("GET", f"{url}/{event_id}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                text = line.split(":", 1)[1].strip()
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = text
                if event in ("complete", "error"):
                    break
    return event, payload


# -------------------------------------------------------------------------------- file trees
SKIP_DIRS = {".venv", ".git", "__pycache__", ".pytest_cache", "node_modules"}


def snapshot(root: Path, skip: set[str] = SKIP_DIRS, skip_paths: tuple[Path, ...] = ()) -> set[str]:
    """Relative paths of the files under root (skipping folders named in `skip` and the paths given)."""
    out = set()
    skip_paths = tuple(str(p) for p in skip_paths)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip and not str(Path(dirpath, d)).startswith(skip_paths)]
        for name in filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def find_named(roots: list[Path], marker: str, allowed: tuple[Path, ...], max_depth: int = 6) -> list[str]:
    """Files or folders whose name holds `marker` under the roots, outside the allowed folders."""
    allowed_s = tuple(str(a) for a in allowed)
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        base = len(root.parts)
        for dirpath, dirnames, filenames in os.walk(root):
            if dirpath.startswith(allowed_s) or len(Path(dirpath).parts) - base >= max_depth:
                dirnames[:] = []
                continue
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if marker in name and not path.startswith(allowed_s):
                    found.append(path)
    return found


# -------------------------------------------------------------------------------- hostile uploads
def upload_through_server(server: Server, client, cases: list, endpoint: str, check_every: int = 1) -> list[tuple]:
    """Each case through the running app's upload handler (gradio_client, the file and its mapping as
    uploads); -> [(case, outcome, why)] judged as tests/hostile_files.py judges. The server must stay up."""
    from gradio_client import handle_file
    from gradio_client.utils import strip_invalid_filename_characters

    from tests.hostile_files import judge

    forbidden = (str(server.gradio_tmp), str(server.tmpdir))
    out = []
    for i, case in enumerate(cases):
        names = case.shown_names + [strip_invalid_filename_characters(n) for n in case.shown_names]
        try:
            result = client.predict(handle_file(str(case.path)),
                                    handle_file(str(case.mapping)) if case.mapping else None, api_name=endpoint)
            outcome, why = judge(case, handler_message(result), forbidden=forbidden, shown_names=names)
        except Exception as err:  # noqa: BLE001 - what the client saw
            text = str(err)
            if "Invalid file type" in text:   # Gradio's own check of the upload box's file types: a clear refusal
                outcome, why = "clear", ""
            else:
                outcome, why = "crash", f"{type(err).__name__}: {text[:300]}"
        out.append((case, outcome, why))
        if i % check_every == 0 and not server.alive():
            out.append((case, "crash", f"the server died: {server.log_tail(800)}"))
            break
    return out


# -------------------------------------------------------------------------------- load
def request_mix(client, n_search: int, n_caption: int, clip_ids: list[str], seed: int = 0) -> list[tuple[str, str, tuple]]:
    """(kind, api_name, args) for n_search searches (half free text, half keywords) and n_caption captions."""
    import random

    rng = random.Random(seed)
    search = find_endpoint(client, "query_value", "mode_value", "k_value", fallback="/run_search")
    caption = find_endpoint(client, "spec_value", "clip_id", "component_value", fallback="/explain_clip")
    texts = ["a person walks forward", "someone waves the left hand", "a man runs in a circle", "a person jumps",
             "the person turns left and sits down", "raising both arms", "kicking with the right leg"]
    words = ["walk", "wave left", "run", "jump", "turn left", "raise arms", "kick right", "sit"]
    mix = [("text search", search, (rng.choice(texts), "free text", 10, "synthetic")) if i % 2 == 0 else
           ("keyword search", search, (rng.choice(words), "keywords", 10, "synthetic")) for i in range(n_search)]
    mix += [("caption", caption, ("synthetic", rng.choice(clip_ids), "1")) for _ in range(n_caption)]
    rng.shuffle(mix)
    return mix


def run_concurrently(client, mix: list[tuple[str, str, tuple]], timeout: float = 600) -> list[dict]:
    """Send every request of the mix at once (one thread each); -> per request {kind, seconds, error}."""
    import threading

    results: list[dict] = [{} for _ in mix]
    start_gate = threading.Barrier(len(mix) + 1)

    def one(i: int, kind: str, api: str, args: tuple) -> None:
        start_gate.wait()
        began = time.perf_counter()
        error = None
        try:
            outputs = client.predict(*args, api_name=api)
            error = handler_message(outputs)
        except Exception as err:  # noqa: BLE001
            error = f"{type(err).__name__}: {err}"
        results[i] = {"kind": kind, "seconds": time.perf_counter() - began, "error": error}

    threads = [threading.Thread(target=one, args=(i, *m), daemon=True) for i, m in enumerate(mix)]
    for t in threads:
        t.start()
    start_gate.wait()
    deadline = time.time() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.time()))
    return [r or {"kind": m[0], "seconds": timeout, "error": "no answer (hung)"} for r, m in zip(results, mix)]


def latency_summary(results: list[dict]) -> dict:
    import numpy as np

    out = {"requests": len(results), "errors": sum(1 for r in results if r["error"]),
           "error_messages": sorted({str(r["error"])[:160] for r in results if r["error"]})[:5]}
    for kind in sorted({r["kind"] for r in results}) + ["all"]:
        seconds = [r["seconds"] for r in results if kind == "all" or r["kind"] == kind]
        out[kind] = {"n": len(seconds), "p50_ms": round(1000 * float(np.percentile(seconds, 50)), 1),
                     "p95_ms": round(1000 * float(np.percentile(seconds, 95)), 1)}
    return out


def fn_index(server: Server, api_name: str) -> int:
    import httpx
    config = httpx.get(server.url + "config", timeout=30).json()
    for dependency in config["dependencies"]:
        if dependency.get("api_name") == api_name.lstrip("/"):
            return dependency["id"]
    raise LookupError(api_name)


def burst(server: Server, api_name: str, data: list, n: int, workers: int = 32, timeout: float = 300) -> dict:
    """n joins of one endpoint's queue as fast as raw HTTP allows; -> how many were accepted, how many got a
    "busy" answer (and its text), and whether every accepted one then completed (no hang)."""
    import collections
    import concurrent.futures
    import uuid

    import httpx

    index, session = fn_index(server, api_name), uuid.uuid4().hex[:12]
    body = {"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}

    def join(_):
        began = time.perf_counter()
        response = httpx.post(server.url + "gradio_api/queue/join", json=body, timeout=60)
        return response.status_code, response.text, time.perf_counter() - began

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(join, range(n)))
    codes = collections.Counter(code for code, _, _ in answers)
    accepted = {json.loads(text)["event_id"] for code, text, _ in answers if code == 200}
    refused = [(code, text) for code, text, _ in answers if code != 200]
    done, failed = set(), []
    began = time.time()
    if accepted:
        with httpx.stream("GET", server.url + f"gradio_api/queue/data?session_hash={session}", timeout=timeout) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        done.add(message.get("event_id"))
                        if not message.get("success"):
                            failed.append(str(message.get("output"))[:200])
                if done >= accepted or time.time() - began > timeout:
                    break
    return {"joins": n, "codes": dict(codes), "accepted": len(accepted), "busy": len(refused),
            "busy_answers": sorted({text[:120] for _, text in refused})[:3],
            "slowest_busy_answer_s": round(max((s for c, _, s in answers if c != 200), default=0.0), 3),
            "completed": len(done & accepted), "failed": failed[:3]}


# -------------------------------------------------------------------------------- training: kill and resume
PHASES = "lexmlm,cmmm"
STEPS = 8


def job(out: Path, resume: bool = False, steps: int = STEPS, checkpoint_every: int = 2):
    """The app's own worker (engine/train/worker.py) running `python -m engine train` on the tiny run."""
    from engine.train.worker import TrainingJob
    return TrainingJob(TRAIN_DATA, out, "tiny", PHASES, small_overrides(steps, checkpoint_every=checkpoint_every),
                       resume=resume)


def finish(training, timeout: float = 600) -> int:
    try:
        return training.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(training.process.pid, signal.SIGKILL)
        training.wait()
        raise


def final_weights(out: Path) -> dict:
    from safetensors.torch import load_file

    from engine.checkpoint import read_manifest
    return load_file(str(out / read_manifest(out)["weights"]))


def check_run_folder(out: Path, full: bool = True) -> list[str]:
    """Problems with any checkpoint under a (stopped) run folder: every manifest must read, name weights
    that load and a training state that loads; every metrics line must parse."""
    from safetensors.torch import load_file

    from engine.checkpoint import MANIFEST, read_manifest
    from engine.train.checkpoint import load_train_state

    problems = []
    for manifest_path in sorted(out.rglob(MANIFEST)):
        folder = manifest_path.parent
        try:
            manifest = read_manifest(folder)
            tensors = load_file(str(folder / manifest["weights"])) if full else None
            if full and not tensors:
                problems.append(f"{folder}: empty weights")
            if full and manifest.get("train_state"):
                load_train_state(folder, manifest)
        except Exception as err:  # noqa: BLE001
            problems.append(f"{folder}: {type(err).__name__}: {err}")
    metrics = out / "metrics.jsonl"
    if metrics.is_file():
        data = metrics.read_bytes()
        if data and not data.endswith(b"\n"):
            problems.append("metrics.jsonl ends in a torn line")
        for number, line in enumerate(data.decode().splitlines(), start=1):
            try:
                json.loads(line)
            except ValueError:
                problems.append(f"metrics.jsonl line {number} is torn: {line[:80]!r}")
    return problems


class Watcher(threading.Thread):
    """Reads every manifest of a run folder (and the header of the weights it names) in a loop while the
    run goes: a reader at any moment must find a readable checkpoint, never half of one."""

    def __init__(self, out: Path):
        super().__init__(daemon=True)
        self.out, self.stop, self.reads, self.problems = out, threading.Event(), 0, []

    def run(self):
        while not self.stop.is_set():
            for manifest_path in list(self.out.rglob("manifest.json")):
                self.read(manifest_path.parent)
            time.sleep(0.02)

    def read(self, folder: Path) -> None:
        from safetensors import safe_open

        from engine.checkpoint import MANIFEST, read_manifest

        for _ in range(3):   # the weights a manifest names are removed once a newer manifest lands
            try:
                manifest = read_manifest(folder)
                with safe_open(str(folder / manifest["weights"]), "pt") as weights:
                    if not list(weights.keys()):
                        raise ValueError("no tensors")
                self.reads += 1
                return
            except FileNotFoundError:
                continue
            except Exception as err:  # noqa: BLE001
                if (folder / MANIFEST).is_file():
                    self.problems.append(f"{folder}: {type(err).__name__}: {err}")
                return
        self.problems.append(f"{folder}: the weights its manifest names keep vanishing")


def line_count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def writing(out: Path, since: float) -> bool:
    """A checkpoint file is being written: a temporary file of atomic_write made after `since` exists (an
    older one is a leftover of a killed write, removed by the next save)."""
    for pattern in ("*/.model-*.tmp", "*/.train_state-*.tmp", ".model-*.tmp"):
        for path in out.glob(pattern):
            try:
                if path.stat().st_mtime > since:
                    return True
            except OSError:
                continue
    return False


def new_mid_checkpoint(out: Path, since: float) -> bool:
    """A mid-phase checkpoint (incomplete, step > 0) was committed after `since`."""
    for manifest in out.glob("*/manifest.json"):
        try:
            if manifest.stat().st_mtime > since:
                data = json.loads(manifest.read_text())
                if not data.get("complete") and data.get("step", 0) > 0:
                    return True
        except (OSError, ValueError):
            continue
    return False


def mid_phase_checkpoints(out: Path) -> list[tuple[str, int]]:
    found = []
    for manifest in sorted(out.glob("*/manifest.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if not data.get("complete") and data.get("step", 0) > 0:
            found.append((manifest.parent.name, data["step"]))
    return found


KILL_MOMENTS = ("writing", "after_checkpoint", "steps")


def kill_and_resume(out: Path, kills: int, rng: random.Random, log=print, steps: int = STEPS) -> dict:
    """Train into `out`, SIGKILLing the run `kills` times and resuming with --resume each time, then let it
    finish. The first kill comes while the run starts up; each other one, picked at random, while a checkpoint
    file is being written ("writing"), at a random delay after a mid-phase checkpoint landed
    ("after_checkpoint", mid-step or mid-write of the next) or a random number of steps in ("steps").
    -> counts: kills, attempts, moments, mid-phase checkpoints resumed from, problems found, watcher reads."""
    watcher = Watcher(out)
    watcher.start()
    plan = ["starting"] + [KILL_MOMENTS[i % 3] for i in range(kills - 1)]
    plan = plan[:1] + rng.sample(plan[1:], len(plan) - 1)
    stats = {"kills": 0, "attempts": 0, "problems": [], "kill_moments": [], "resumed_from": []}
    try:
        while True:
            training = job(out, resume=stats["attempts"] > 0, steps=steps).start()
            stats["attempts"] += 1
            if stats["kills"] < kills:
                spawned = time.time()
                kind = plan[stats["kills"]]
                if kind == "starting":
                    moment = (kind, round(rng.uniform(0.3, 3.0), 3))
                    while training.running and time.time() - spawned < moment[1]:
                        time.sleep(0.01)
                elif kind == "writing":
                    moment = (kind,)
                    while training.running and not writing(out, spawned):
                        time.sleep(0.002)
                elif kind == "after_checkpoint":
                    moment = (kind, round(rng.uniform(0.0, 0.3), 3))
                    while training.running and not new_mid_checkpoint(out, spawned):
                        time.sleep(0.005)
                    time.sleep(moment[1])
                else:
                    target = line_count(out / "metrics.jsonl") + rng.randint(1, 5)
                    moment = (kind, target, round(rng.uniform(0.0, 0.2), 3))
                    while training.running and line_count(out / "metrics.jsonl") < target:
                        time.sleep(0.005)
                    time.sleep(moment[2])
                if training.running:
                    os.killpg(training.process.pid, signal.SIGKILL)    # the process group this code started
                    training.wait()
                    stats["kills"] += 1
                    stats["kill_moments"].append(moment)
                    stats["resumed_from"] += mid_phase_checkpoints(out)
                    found = check_run_folder(out)
                    stats["problems"] += [f"after kill {stats['kills']} ({moment}): {p}" for p in found]
                    log(f"kill {stats['kills']} at {moment}: {len(found)} problems")
                    continue
                log(f"the run ended before the planned kill {moment}")
            code = finish(training)
            if code != 0:
                stats["problems"].append(f"the resumed run failed (exit {code}): {training.log_tail()[-1500:]}")
            break
    finally:
        watcher.stop.set()
        watcher.join()
    stats["problems"] += watcher.problems
    stats["watcher_reads"] = watcher.reads
    return stats


def weight_mismatches(a: Path, b: Path) -> list[str]:
    import torch

    wa, wb = final_weights(a), final_weights(b)
    if wa.keys() != wb.keys():
        return [f"different tensors: {sorted(set(wa) ^ set(wb))[:5]}"]
    return [name for name in wa if not torch.allclose(wa[name], wb[name], atol=1e-6, rtol=0)]


def metrics_problems(out: Path, steps: int = STEPS) -> list[str]:
    """metrics.jsonl must hold every (phase, step) of the run once, in order, as an uninterrupted run's."""
    logged = [(r["phase"], r["step"]) for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]
    expected = [(p, s) for p in PHASES.split(",") for s in range(1, steps + 1)]
    if logged == expected:
        return []
    duplicated = sorted({x for x in logged if logged.count(x) > 1})
    return [f"metrics steps differ from an uninterrupted run's: duplicated {duplicated[:5]}, "
            f"missing {sorted(set(expected) - set(logged))[:5]}, order ok: {sorted(logged) == sorted(expected)}"]


