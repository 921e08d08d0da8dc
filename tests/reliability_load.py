"""Load on a running launch.py server (tests/reliability_server.py) for tests/test_reliability_load.py and
bench/bench_reliability.py (no tests here): a seeded mix of searches and captions sent all at once, one thread
each, their p50 / p95 latencies per kind, and a burst of raw queue joins beyond the queue's limit.
"""
from __future__ import annotations

import json
import time

from tests.reliability_server import Server, find_endpoint, handler_message


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

