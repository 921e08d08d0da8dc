"""Shared by the browser tests: start launch.py on a free port, drive Debian's Chromium with playwright.

Never a downloaded browser: playwright launches /usr/bin/chromium with the flags this network needs.
"""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path("/tmp")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(*launch_args: str, log_name: str = "motionlex_server.log", wait_s: float = 120):
    """launch.py in a subprocess; yields its URL once it answers, stops it afterwards."""
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    log = open(SHOTS / log_name, "w")
    proc = subprocess.Popen([sys.executable, "launch.py", "--port", str(port), *launch_args], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + wait_s
        while True:
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"launch.py did not answer on {url}; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def browser_page(url: str, timeout_ms: int = 30_000):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 1050})
        page.set_default_timeout(timeout_ms)
        page.goto(url)
        yield page
        browser.close()


def wait_text(page, selector: str, text: str, timeout: float = 60_000):
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)",
                           arg=[selector, text], timeout=timeout)


ASSETS = ROOT / "assets" / "screenshots"
README_SHOT_BYTES = 150_000


def screenshot(page, name: str, selector: str | None = None, readme: bool = True) -> Path:
    """A full-page screenshot as a test artifact (/tmp/motionlex_<name>.png) and, with readme=True, a small copy
    for the README (assets/screenshots/<name>.png: 1000 px wide at most, a 96-colour palette, under ~150 KB)."""
    from PIL import Image

    artifact = SHOTS / f"motionlex_{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(artifact))
    else:
        page.screenshot(path=str(artifact), full_page=True)
    if not readme:
        return artifact
    image = Image.open(artifact).convert("RGB")
    ASSETS.mkdir(parents=True, exist_ok=True)
    small = ASSETS / f"{name}.png"
    width, colours = 1000, 96
    while True:
        scale = min(1.0, width / image.width)
        copy = image.resize((int(image.width * scale), int(image.height * scale)), Image.LANCZOS)
        copy.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(small, optimize=True)
        if small.stat().st_size <= README_SHOT_BYTES or width <= 500:
            return artifact
        width, colours = int(width * 0.85), max(32, colours - 16)
