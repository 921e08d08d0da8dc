"""End to end with a real (tiny, freshly trained) checkpoint: launch.py in a subprocess, Debian's Chromium
driven by playwright. Search (text and keywords), Caption & Explain, Audit and a 2-step training run in the
Training tab. Screenshots land in /tmp/motionlex_*.png for a person to look at."""
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path("/tmp")
DATA = "synthetic?n=60"
PHASES = ("lexmlm", "cmmm", "lexmmm", "lexcmlp")
# A checkpoint in seconds: every phase 2 steps of batch 8, a 32-wide 1-layer motion encoder.
TINY = [f"train.{p}.{k}={v}" for p in PHASES for k, v in (("steps", 2), ("batch_size", 8))] + [
    "model.motion_dim=32", "model.motion_depth=1"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)")


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ck") / "tiny"
    cmd = [sys.executable, "-m", "engine", "train", "--data", DATA, "--preset", "tiny", "--phases", "all",
           "--out", str(out), "--quiet"] + [a for item in TINY for a in ("--set", item)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "manifest.json").is_file()
    return out


@pytest.fixture(scope="module")
def server_url(tiny_checkpoint):
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    log = open(SHOTS / "motionlex_model_server.log", "w")
    proc = subprocess.Popen([sys.executable, "launch.py", "--port", str(port), "--data", DATA,
                             "--checkpoint", str(tiny_checkpoint)], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 120
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


@pytest.fixture(scope="module")
def page(server_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 1050})
        page.set_default_timeout(60_000)
        page.goto(server_url)
        yield page
        browser.close()


def wait_text(page, selector: str, text: str, timeout: float = 60_000):
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)",
                           arg=[selector, text], timeout=timeout)


def fill(page, elem_id: str, text: str):
    page.fill(f"#{elem_id} textarea, #{elem_id} input", text)


def plot_data(page, elem_id: str) -> dict:
    page.wait_for_function(f"document.querySelector('#{elem_id} .js-plotly-plot')?.data?.length > 0")
    return page.eval_on_selector(f"#{elem_id} .js-plotly-plot", """gd => ({
        types: gd.data.map(t => t.type), names: gd.data.map(t => t.name || ''), y0: gd.data[0].y,
        title: (gd.layout.title || {}).text || '', markers: gd.data.map(t => (t.marker || {}).color || null)})""")


def table_cell(page, elem_id: str, row: int, col: int) -> str:
    return page.inner_text(f"#{elem_id} [data-testid=cell-{row}-{col}]")


def test_text_then_keyword_search_finds_and_explains_hits(page):
    page.get_by_role("tab", name="Search").click()
    fill(page, "search-query", "a person waves the left hand")
    page.click("#search-go")
    wait_text(page, "#search-status", "hits for")          # the first search also encodes the library
    assert "10 hits" in page.inner_text("#search-status")
    assert table_cell(page, "search-table", 0, 1).startswith("synth_")
    assert plot_data(page, "search-terms")["types"] == ["bar"]

    # Keywords: the words that found the text search's first hit must find motions on their own.
    because = table_cell(page, "search-table", 0, 4)
    words = [w for w in re.findall(r"([#\w]+) \(", because) if w.isalpha()][:2]
    assert words, because
    page.get_by_label("keywords").check()
    fill(page, "search-query", " ".join(words))
    page.click("#search-go")
    wait_text(page, "#search-status", "(keywords)")
    assert re.match(r"[1-9]\d* hits", page.inner_text("#search-status")), page.inner_text("#search-status")
    page.wait_for_function("n => document.querySelector('#search-terms .js-plotly-plot').data[0].y.length == n",
                           arg=len(words))
    bars = page.eval_on_selector("#search-terms .js-plotly-plot", "gd => [gd.data[0].y, gd.data[0].x]")
    assert set(bars[0]) == set(words) and set(bars[1]) == {1}   # each keyword weighs 1

    page.click("#search-table [data-testid=cell-0-3]")
    wait_text(page, "#search-details", "found because")
    assert any(w in page.inner_text("#search-details") for w in words)
    page.wait_for_function("document.querySelector('#search-plot .js-plotly-plot')?.dataset.motionlexFrames > 0")
    page.screenshot(path=str(SHOTS / "motionlex_search.png"), full_page=True)


def test_caption_and_explain_a_library_clip(page):
    page.get_by_role("tab", name="Caption & Explain").click()
    page.click("#explain-go")
    wait_text(page, "#explain-caption", "generated by the lexical bottleneck decoder")
    assert "Baseline" in page.inner_text("#explain-caption")
    for cloud in ("explain-motion-cloud", "explain-text-cloud"):
        size = page.eval_on_selector(f"#{cloud} img", "img => [img.naturalWidth, img.naturalHeight]")
        assert size == [520, 320], size
    heat = plot_data(page, "explain-heatmap")
    assert heat["types"] == ["heatmap"] and "l_wrist" in heat["y0"] and "component 1" in heat["title"]
    skeleton = plot_data(page, "explain-plot")
    assert skeleton["types"][:4] == ["scatter3d"] * 4 and "PCA component 1" in skeleton["title"]
    assert skeleton["markers"][3][0].startswith("#")          # joints coloured per joint by intensity
    wait_text(page, "#explain-disagreement", "The motion shows, the caption never says")
    page.screenshot(path=str(SHOTS / "motionlex_explain.png"), full_page=True)

    page.get_by_label("2", exact=True).check()
    page.wait_for_function("(document.querySelector('#explain-heatmap .js-plotly-plot')?.layout.title.text || '')"
                           ".includes('component 2')")
    fill(page, "explain-compare-text", "someone jumps high twice")
    page.press("#explain-compare-text textarea, #explain-compare-text input", "Enter")
    wait_text(page, "#explain-disagreement", "someone jumps high twice")


def test_audit_of_the_synthetic_library(page):
    page.get_by_role("tab", name="Audit").click()
    page.click("#audit-go")
    wait_text(page, "#audit-status", "Audited 60 clips")
    assert "Left / right balance" in page.inner_text("#audit-summary")
    terms = plot_data(page, "audit-terms")
    assert terms["types"] == ["bar", "bar"]
    page.click("#audit-table [data-testid=cell-0-1]")
    wait_text(page, "#audit-words", "The motion shows, the caption never says")
    page.wait_for_selector("#audit-plot .js-plotly-plot")
    page.screenshot(path=str(SHOTS / "motionlex_audit.png"), full_page=True)


def test_training_tab_runs_a_two_step_phase_and_plots_it(page, tmp_path):
    page.get_by_role("tab", name="Training").click()
    fill(page, "train-data", DATA)
    fill(page, "train-set", "train.nope=1")                  # a typo is a message, not a failed run
    page.click("#train-start")
    page.wait_for_selector("#train-message .ml-error")
    assert "nope" in page.inner_text("#train-message")

    for phase in ("lexmlm", "lexmmm", "lexcmlp"):            # CMMM alone: the quickest phase
        page.get_by_label(phase, exact=True).uncheck()
    fill(page, "train-out", str(tmp_path / "run"))
    fill(page, "train-set", "train.cmmm.steps=2\ntrain.cmmm.batch_size=8\nmodel.motion_dim=32\n"
                            "model.motion_depth=1\ntrain.log_every=1")
    page.click("#train-start")
    wait_text(page, "#train-message", "Started run")
    wait_text(page, "#train-status", "done", timeout=150_000)   # the timer refreshes every few seconds
    assert "phase **cmmm** step 2/2" in page.inner_text("#train-status").replace("phase cmmm", "phase **cmmm**") \
        or "step 2/2" in page.inner_text("#train-status")
    page.wait_for_function("document.querySelector('#train-curves .js-plotly-plot')?.data.length > 1")
    curves = plot_data(page, "train-curves")
    assert "loss" in curves["names"] and "recon" in curves["names"]
    page.click("#train-use")
    wait_text(page, "#train-message", "Now serving")
    page.screenshot(path=str(SHOTS / "motionlex_training.png"), full_page=True)
