"""End to end with a real (tiny, freshly trained) checkpoint: launch.py in a subprocess on a free port,
Debian's Chromium driven by playwright. One app serves every tab's main journey:

Search (text and keywords, the preview grid, a preview opening the viewer, stale results cleared), Caption &
Explain (caption, clouds, PCA map, word timeline, Find similar), Attention (22 joint rows, key frames, a word),
Generate (base and SoPo side by side with their scores, a word weight that changes the motion, a GIF and an MP4
downloaded and decoded), Audit, Feature health (numbers), Training (a budget refused before the start, a curve
that moves, Cancel, the same state after a reload, a run to "done" with "Use this checkpoint" enabled only then).
Screenshots of every tab: /tmp/motionlex_*.png (artifacts) and assets/screenshots/*.png (the README's)."""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.app_fixtures import TINY_GENERATOR
from tests.browser import ROOT, browser_page, needs_chromium, running_app, screenshot, wait_text

DATA = "synthetic?n=60"
PHASES = ("lexmlm", "cmmm", "lexmmm", "lexcmlp", "caption")
# A checkpoint in seconds: every phase 2 steps of batch 8, a 32-wide 1-layer motion encoder, plus seconds-long
# generators. All terms are kept: after 2 steps the 64 heaviest terms of a query and of a motion need not share
# a single word.
TINY = [f"train.{p}.{k}={v}" for p in PHASES for k, v in (("steps", 2), ("batch_size", 8))] + [
    "model.motion_dim=32", "model.motion_depth=1", "model.lex_top_k=0"] + TINY_GENERATOR
QUICK = "train.cmmm.batch_size=8\nmodel.motion_dim=32\nmodel.motion_depth=1\ntrain.log_every=1\ntrain.cmmm.steps="

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ck") / "tiny"
    phases = ",".join(PHASES + (("evaluator", "generator", "sopo") if _can_generate() else ()))
    cmd = [sys.executable, "-m", "engine", "train", "--data", DATA, "--preset", "tiny", "--phases", phases,
           "--out", str(out), "--quiet", "--threads", "1"] + [a for item in TINY for a in ("--set", item)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "manifest.json").is_file()
    return out


def _can_generate() -> bool:
    from engine import Engine
    return hasattr(Engine, "generate")


@pytest.fixture(scope="module")
def page(tiny_checkpoint, tmp_path_factory):
    import os
    os.environ["MOTIONLEX_RUNS"] = str(tmp_path_factory.mktemp("runs"))    # the app subprocess inherits it
    try:
        with running_app("--data", DATA, "--checkpoint", str(tiny_checkpoint), log_name="motionlex_model_server.log") \
                as url, browser_page(url, timeout_ms=90_000) as page:
            yield page
    finally:
        os.environ.pop("MOTIONLEX_RUNS", None)


def fill(page, elem_id: str, text: str):
    page.fill(f"#{elem_id} textarea, #{elem_id} input", text)


def tab(page, name: str):
    page.get_by_role("tab", name=name, exact=True).click()


def plot_data(page, elem_id: str) -> dict:
    page.wait_for_function(f"document.querySelector('#{elem_id} .js-plotly-plot')?.data?.length > 0")
    return page.eval_on_selector(f"#{elem_id} .js-plotly-plot", """gd => ({
        types: gd.data.map(t => t.type), names: gd.data.map(t => t.name || ''), y0: gd.data[0].y,
        title: (gd.layout.title || {}).text || '', markers: gd.data.map(t => (t.marker || {}).color || null)})""")


def plot(page, elem_id: str, script: str):
    page.wait_for_function(f"document.querySelector('#{elem_id} .js-plotly-plot')?.data?.length > 0")
    return page.eval_on_selector(f"#{elem_id} .js-plotly-plot", script)


def table_cell(page, elem_id: str, row: int, col: int) -> str:
    return page.inner_text(f"#{elem_id} [data-testid=cell-{row}-{col}]")


def test_search_text_keywords_previews_and_stale_results(page):
    tab(page, "Search")
    fill(page, "search-query", "a person waves the left hand")
    page.click("#search-go")
    wait_text(page, "#search-status", "hits for")          # the first search also encodes the library
    assert "10 hits" in page.inner_text("#search-status")
    assert table_cell(page, "search-table", 0, 1).startswith("synth_")
    assert plot_data(page, "search-terms")["types"] == ["bar"]
    page.wait_for_function("document.querySelectorAll('#search-gallery img').length == 10", timeout=120_000)

    # Keywords: the words that found the text search's first hit must find motions on their own.
    because = table_cell(page, "search-table", 0, 4)
    words = [w for w in re.findall(r"([#\w]+) \(", because) if w.isalpha()][:2]
    assert words, because
    page.get_by_label("keywords").check()
    fill(page, "search-query", " ".join(words))
    page.click("#search-go")
    wait_text(page, "#search-status", "(keywords)")
    assert re.match(r"[1-9]\d* hits", page.inner_text("#search-status")), page.inner_text("#search-status")
    page.wait_for_function("ws => { const y = document.querySelector('#search-terms .js-plotly-plot').data[0].y;"
                           " return ws.every(w => y.includes(w)); }", arg=words)
    bars = page.eval_on_selector("#search-terms .js-plotly-plot", "gd => [gd.data[0].y, gd.data[0].x]")
    # each keyword is searched in all its forms ("walks" also as walk, walked, walking), which share its weight 1
    assert set(words) <= set(bars[0]) and sum(bars[1]) == pytest.approx(len(words), abs=1e-3), bars   # 4-digit weights

    page.wait_for_function("document.querySelectorAll('#search-gallery img').length > 0", timeout=120_000)
    page.locator("#search-gallery img").first.click()              # a preview opens the 3D viewer
    wait_text(page, "#search-details", "found because")
    assert any(w in page.inner_text("#search-details") for w in words)
    page.wait_for_function("document.querySelector('#search-plot .js-plotly-plot')?.dataset.motionlexFrames > 0")
    assert "&amp;" not in page.inner_text("body")
    screenshot(page, "search", readme=False)   # the README's: shipped model

    fill(page, "search-query", "swim")                              # no hits: the old results go
    page.click("#search-go")
    wait_text(page, "#search-status", "0 hits")
    page.wait_for_function("document.querySelectorAll('#search-gallery img').length == 0")
    assert not page.query_selector("#search-plot .js-plotly-plot")
    assert not page.query_selector("#search-table [data-testid=cell-0-1]")
    page.locator(".ml-example", has_text="someone jumps").click()    # examples are one click away
    wait_text(page, "#search-status", "hits for someone jumps")


def test_caption_explain_word_timeline_and_find_similar(page):
    tab(page, "Caption & Explain")
    page.wait_for_function("document.querySelector('#explain-clip input')?.value")   # filled on load
    page.click("#explain-go")
    wait_text(page, "#explain-caption", "generated by the lexical bottleneck decoder")
    text = page.inner_text("#explain-caption")
    assert "Baseline" in text and "nearest other library motion" in text
    assert "nearest library motions" in text and "phrasing chosen with the" in text
    for cloud in ("explain-motion-cloud", "explain-text-cloud"):
        size = page.eval_on_selector(f"#{cloud} img", "img => [img.naturalWidth, img.naturalHeight]")
        assert size == [520, 320], size
    heat = plot_data(page, "explain-heatmap")
    assert heat["types"] == ["heatmap"] and "l_wrist" in heat["y0"] and "component 1" in heat["title"]
    skeleton = plot_data(page, "explain-plot")
    assert skeleton["types"][:4] == ["scatter3d"] * 4 and "PCA component 1" in skeleton["title"]
    assert skeleton["markers"][3][0].startswith("#")          # joints coloured per joint by intensity
    wait_text(page, "#explain-disagreement", "The motion shows, the caption never says")
    timeline = plot(page, "explain-timeline", "gd => ({type: gd.data[0].type, words: gd.data[0].y.length, "
                    "x: gd.layout.xaxis.title.text})")
    assert timeline == {"type": "heatmap", "words": 10, "x": "time (s)"}
    page.click("#explain-similar-go")
    wait_text(page, "#explain-similar-note", "nearest to")
    assert table_cell(page, "explain-similar", 0, 1).startswith("synth_")
    screenshot(page, "explain", readme=False)   # the README's: shipped model

    page.get_by_label("2", exact=True).check()
    page.wait_for_function("(document.querySelector('#explain-heatmap .js-plotly-plot')?.layout.title.text || '')"
                           ".includes('component 2')")
    fill(page, "explain-compare-text", "someone jumps high twice")
    page.press("#explain-compare-text textarea, #explain-compare-text input", "Enter")
    wait_text(page, "#explain-disagreement", "someone jumps high twice")


def test_attention_has_22_joint_rows_key_frames_and_words(page):
    tab(page, "Attention")
    page.wait_for_function("document.querySelector('#attention-clip input')?.value")
    page.click("#attention-go")
    heat = plot(page, "attention-heatmap", "gd => ({rows: gd.data[0].y.length, distinct: new Set(gd.data[0].z.map("
                "r => r.reduce((a, b) => a + b, 0).toFixed(4))).size, title: gd.layout.title.text})")
    assert heat["rows"] == 22 and heat["distinct"] > 7 and "PCA component 1" in heat["title"]   # not 7 parts
    page.wait_for_function("document.querySelector('#attention-strip img')?.naturalWidth > 1000")
    wait_text(page, "#attention-summary", "gradient x input")
    page.wait_for_function("document.querySelector('#attention-plot .js-plotly-plot')?.dataset.motionlexFrames > 0")
    screenshot(page, "attention", readme=False)   # the README's: shipped model
    page.get_by_label("word", exact=True).check()
    page.wait_for_function("(document.querySelector('#attention-heatmap .js-plotly-plot')?.layout.title.text || '')"
                           ".includes('word')")
    wait_text(page, "#attention-summary", "driven most by")


def test_generate_two_synchronised_motions_steer_and_download(page, tmp_path):
    if not _can_generate():
        pytest.skip("Engine.generate does not exist yet (the generator is being built)")
    tab(page, "Generate")
    wait_text(page, "#generate-intro", "base generator, SoPo-tuned")
    fill(page, "generate-prompt", "a person walks forward and waves")
    page.wait_for_function("(document.querySelector('#generate-weights textarea')?.value || '').includes(':1')")
    page.wait_for_selector("#generate-bars .js-plotly-plot")
    page.locator("#generate-length input[type=number]").fill("2")
    page.locator("#generate-steps input[type=number]").fill("5")
    page.locator("#generate-steps input[type=number]").press("Enter")
    page.click("#generate-go")
    wait_text(page, "#generate-status", "Generated 2.0 s")
    state = plot(page, "generate-plot", """gd => ({scenes: ['scene', 'scene2'].filter(s => gd._fullLayout[s]).length,
        traces: gd.data.length, frames: (gd.layout.meta.motionlex_frames || []).length,
        x: gd.layout.meta.motionlex_frames.slice(-1)[0].data[3].x})""")
    assert state["scenes"] == 2 and state["traces"] == 12 and state["frames"] == 40   # one figure, one slider
    for box in ("#generate-base", "#generate-sopo"):
        text = page.inner_text(box)
        assert "reward" in text and "evaluator" in text and "foot skating" in text
    page.wait_for_function("document.querySelector('#generate-plot .js-plotly-plot')?.dataset.motionlexFrames == 40")
    screenshot(page, "generate")

    weights = page.locator("#generate-weights textarea")
    words = weights.input_value().split()
    words[0] = words[0].split(":")[0] + ":0"                            # silence the heaviest word, add one
    weights.fill(" ".join(words + ["jump:1"]))
    page.wait_for_function("document.querySelector('#generate-bars .js-plotly-plot')?.data[0].y.includes('jump')")
    page.click("#generate-go")
    wait_text(page, "#generate-status", "steered by")
    page.wait_for_function("x => JSON.stringify(document.querySelector('#generate-plot .js-plotly-plot')"
                           ".layout.meta.motionlex_frames.slice(-1)[0].data[3].x) != JSON.stringify(x)", arg=state["x"])

    page.click("#generate-files-go")
    wait_text(page, "#generate-files-note", "8 files")
    decoded = {}
    for ext in ("gif", "mp4"):
        with page.expect_download() as info:
            page.locator(f"#generate-files a[download='base-seed0.{ext}']").click()
        target = tmp_path / f"base.{ext}"
        info.value.save_as(target)
        if ext == "gif":
            import imageio.v3 as iio
            decoded[ext] = list(iio.imread(target, index=None))
        else:
            import imageio.v2 as imageio
            reader = imageio.get_reader(target, format="FFMPEG")
            decoded[ext] = [np.asarray(frame) for _, frame in zip(range(100), reader)]
            reader.close()
    assert len(decoded["gif"]) == 20 and len(decoded["mp4"]) == 40       # 2 s at 10 and 20 fps
    assert decoded["mp4"][0].shape == (320, 320, 3) and not np.array_equal(decoded["mp4"][0], decoded["mp4"][-1])


def test_audit_of_the_synthetic_library(page):
    tab(page, "Audit")
    page.click("#audit-go")
    wait_text(page, "#audit-status", "Audited 60 clips")
    assert "Left / right balance" in page.inner_text("#audit-summary")
    terms = plot_data(page, "audit-terms")
    assert terms["types"] == ["bar", "bar"]
    assert plot_data(page, "audit-base")["types"] == ["bar", "bar"]   # base text encoder vs trained
    page.click("#audit-table [data-testid=cell-0-1]")
    wait_text(page, "#audit-words", "The motion shows, the caption never says")
    page.wait_for_selector("#audit-plot .js-plotly-plot")
    screenshot(page, "audit")


def test_feature_health_shows_numbers(page):
    tab(page, "Feature health")
    page.click("#health-go")
    wait_text(page, "#health-note", "What low values mean")
    assert table_cell(page, "health-table", 0, 0) == "input projection"
    assert float(table_cell(page, "health-table", 0, 1)) > 1
    assert table_cell(page, "health-table", 2, 0) == "output"            # 1 block in this tiny model
    screenshot(page, "health", readme=False)   # the README's: shipped model


def test_training_truth_cancel_reload_and_a_usable_run(page, tmp_path):
    tab(page, "Training")
    fill(page, "train-data", DATA)
    fill(page, "train-set", "train.nope=1")                  # a typo is a message, not a failed run
    page.click("#train-start")
    page.wait_for_selector("#train-message .ml-error")
    assert "nope" in page.inner_text("#train-message")

    for phase in ("lexmlm", "lexmmm", "lexcmlp", "caption"):  # CMMM alone: the quickest phase
        page.get_by_label(phase, exact=True).uncheck()
    fill(page, "train-set", "")
    fill(page, "train-minutes", "0.1")
    page.locator("#train-minutes input").press("Tab")
    wait_text(page, "#train-plan", "too short for the first phase")              # said before the start ...
    assert "Plan: cmmm 1500 steps" in page.inner_text("#train-plan")
    page.click("#train-start")
    wait_text(page, "#train-message", "too short for the first phase")            # ... and the start refused
    assert page.query_selector("#train-message .ml-error")

    # A long run: the curve moves, Cancel stops it, a reload shows the same truth.
    fill(page, "train-minutes", "")
    fill(page, "train-set", QUICK + "4000")
    fill(page, "train-out", str(tmp_path / "long"))
    page.click("#train-start")
    wait_text(page, "#train-message", "Started")
    page.wait_for_function("document.querySelector('#train-cancel').disabled === false")
    assert page.is_disabled("#train-use") and page.is_disabled("#train-start")
    count = "document.querySelector('#train-curves .js-plotly-plot')?.data?.[0]?.x?.length || 0"
    page.wait_for_function(f"({count}) >= 2", timeout=150_000)
    seen = page.evaluate(count)
    page.wait_for_function(f"({count}) > {seen}", timeout=60_000)      # the curve moves
    curves = plot_data(page, "train-curves")
    assert "loss" in curves["names"] and "recon" in curves["names"] and "seconds" not in curves["names"]
    wait_text(page, "#train-status", "elapsed")
    assert page.is_disabled("#train-use")
    screenshot(page, "training")
    page.click("#train-cancel")
    wait_text(page, "#train-message", "Cancelled")
    wait_text(page, "#train-status", "cancelled")
    page.wait_for_function("document.querySelector('#train-resume').disabled === false")
    page.wait_for_function("document.querySelector('#train-cancel').disabled === true")
    assert page.is_disabled("#train-use") and page.is_enabled("#train-start")
    log_text = page.input_value("#train-log textarea")
    assert "[cmmm" in log_text                                           # the log is there ...
    assert page.evaluate("(t => t.scrollHeight > t.clientHeight)(document.querySelector('#train-log textarea'))") \
        == (len(log_text.splitlines()) > 12)
    page.wait_for_function("(t => t.scrollTop + t.clientHeight >= t.scrollHeight - 2)"   # ... its newest lines shown
                           "(document.querySelector('#train-log textarea'))", timeout=30_000)
    page.reload()
    tab(page, "Training")
    wait_text(page, "#train-status", "cancelled")
    page.wait_for_function("document.querySelector('#train-resume').disabled === false")
    assert page.is_disabled("#train-use") and table_cell(page, "train-runs", 0, 1) == "cancelled"

    # A 2-step run: "Use this checkpoint" is enabled once (and only once) its final model exists.
    fill(page, "train-data", DATA)
    for phase in ("lexmlm", "lexmmm", "lexcmlp", "caption"):
        page.get_by_label(phase, exact=True).uncheck()
    fill(page, "train-set", QUICK + "2")
    fill(page, "train-out", str(tmp_path / "quick"))
    page.click("#train-start")
    wait_text(page, "#train-message", "Started")
    assert page.is_disabled("#train-use")
    wait_text(page, "#train-status", "done", timeout=150_000)   # the timer refreshes every few seconds
    assert "phase **cmmm** (1 of 1) step 2/2" in page.inner_text("#train-status").replace("phase cmmm (1 of 1)",
                                                                                         "phase **cmmm** (1 of 1)")
    page.wait_for_function("document.querySelector('#train-use').disabled === false")
    page.click("#train-use")
    wait_text(page, "#train-message", "Now serving")
