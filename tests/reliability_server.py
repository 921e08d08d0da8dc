"""A real launch.py server for the reliability tests and bench/bench_reliability.py (no tests here): started on a
free loopback port with its own upload and temporary folders and stopped afterwards, its peak memory, its API
endpoints found by their parameters, the messages its handlers return, uploads with hostile names and REST calls
as a hand-written client makes them, and file-tree snapshots to see what it wrote.

Loopback only: every URL here is http://127.0.0.1:<port>/.
"""
from __future__ import annotations

import contextlib
import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


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

