"""End to end: launch.py in a subprocess, Debian's Chromium driven by playwright (never a downloaded browser).

Lists synthetic clips, filters, plays a clip in the 3D viewer, uploads a BVH (or a made .npy) and a
broken file, and checks the page keeps working. With the shipped model, the README's screenshots of Search,
Caption & Explain, Attention and Feature health. Screenshots land in /tmp for a person to look at.
"""

import numpy as np
import pytest

from tests.browser import ROOT, SHOTS, browser_page, needs_chromium, running_app, screenshot, wait_text

SAMPLE_BVH = ROOT.parent / "shared" / "data" / "samples" / "dataset-2_wave-both-hands_feminine_002.bvh"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def page():
    with running_app(log_name="motionlex_browser_server.log") as url, browser_page(url) as page:
        yield page


def plot_state(page) -> dict:
    return page.eval_on_selector("#library-plot .js-plotly-plot", """gd => ({
        types: gd.data.map(t => t.type), names: gd.data.map(t => t.name), title: gd.layout.title.text,
        frames: (gd._transitionData._frames || []).length, active: gd._fullLayout.sliders[0].active})""")


def test_library_lists_filters_and_plays(page):
    wait_text(page, "#library-status", "clips shown")
    assert page.inner_text("#library-table [data-testid=cell-0-0]").startswith("synth_")
    page.fill("#library-filter textarea, #library-filter input", "walk")
    wait_text(page, "#library-status", "matching clips shown")
    captions = [page.inner_text(f"#library-table [data-testid=cell-{r}-1]") for r in range(3)]
    assert all("walk" in c.lower() for c in captions), captions

    page.click("#library-table [data-testid=cell-1-1]")
    page.wait_for_selector("#library-plot .js-plotly-plot")
    wait_text(page, "#library-details", "Captions")
    page.wait_for_function("document.querySelector('#library-plot .js-plotly-plot')?.dataset.motionlexFrames > 0")
    state = plot_state(page)
    assert state["types"] == ["scatter3d"] * 6 and state["names"][:3] == ["left side", "right side", "spine / head"]
    assert state["frames"] > 10 and state["active"] == 0
    assert captions[1][:20] in state["title"]
    screenshot(page, "library")

    page.get_by_text("▶ Play").click()        # the frames the loader attached really animate
    page.wait_for_function("document.querySelector('#library-plot .js-plotly-plot')._fullLayout.sliders[0].active > 3")
    page.get_by_text("❚❚ Pause").click()


def test_upload_shows_the_motion_and_bad_files_are_reported(page, tmp_path):
    wait_text(page, "#library-status", "clips shown")
    if SAMPLE_BVH.exists():
        upload, expect = SAMPLE_BVH, "Mapped joints"
    else:  # no shared data: a made canonical motion
        upload, expect = tmp_path / "made.npy", "humanml3d_joints"
        np.save(upload, (np.random.default_rng(0).normal(size=(40, 22, 3)) * 0.1 + [0, 1, 0]).astype(np.float32))
    page.set_input_files("#library-upload input[type=file]", str(upload))
    wait_text(page, "#library-upload-status", expect)
    page.wait_for_function("arg => document.querySelector('#library-plot .js-plotly-plot')?.layout.title.text"
                           ".includes(arg)", arg=upload.name)
    page.screenshot(path=str(SHOTS / "motionlex_upload.png"), full_page=True)

    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    page.click("#library-upload button[aria-label='Clear']")
    page.set_input_files("#library-upload input[type=file]", str(broken))
    page.wait_for_selector("#library-upload-status .ml-error")
    message = page.inner_text("#library-upload-status")
    assert "broken.bvh" in message and "Traceback" not in page.content()
    page.screenshot(path=str(SHOTS / "motionlex_error.png"), full_page=True)

    # The server is still up and the page still answers.
    page.fill("#library-filter textarea, #library-filter input", "")
    page.fill("#library-filter textarea, #library-filter input", "run")
    wait_text(page, "#library-status", "matching clips shown")
    page.fill("#library-filter textarea, #library-filter input", "")


def test_bad_dataset_spec_is_a_message(page):
    spec = page.locator("#library-spec input")
    spec.fill("bvh:/no/such/folder")
    spec.press("Enter")
    page.wait_for_selector("#library-status .ml-error")
    assert "does not exist" in page.inner_text("#library-status")


def test_shipped_model_views_for_the_readme(page):
    """The shipped model on its 2,000-clip library (its index ships with it): an example search with its preview
    grid, a caption with its word timeline, an attention map and the feature health, each screenshotted."""
    page.get_by_role("tab", name="Search", exact=True).click()
    page.locator(".ml-example", has_text="a person waves the left hand").click()
    wait_text(page, "#search-status", "10 hits")
    page.wait_for_function("document.querySelectorAll('#search-gallery img').length == 10", timeout=120_000)
    page.locator("#search-gallery img").first.click()
    wait_text(page, "#search-details", "found because")
    page.wait_for_function("document.querySelector('#search-plot .js-plotly-plot')?.dataset.motionlexFrames > 0")
    screenshot(page, "search")

    page.get_by_role("tab", name="Caption & Explain", exact=True).click()
    page.wait_for_function("document.querySelector('#explain-clip input')?.value")
    page.click("#explain-go")
    wait_text(page, "#explain-caption", "generated by the lexical bottleneck decoder")
    page.wait_for_selector("#explain-timeline .js-plotly-plot")
    screenshot(page, "explain")

    page.get_by_role("tab", name="Attention", exact=True).click()
    page.wait_for_function("document.querySelector('#attention-clip input')?.value")
    page.click("#attention-go")
    wait_text(page, "#attention-summary", "driven most by")
    page.wait_for_function("document.querySelector('#attention-strip img')?.naturalWidth > 1000")
    screenshot(page, "attention")

    page.get_by_role("tab", name="Feature health", exact=True).click()
    page.click("#health-go")
    wait_text(page, "#health-note", "What low values mean")
    assert float(page.inner_text("#health-table [data-testid=cell-5-1]")) > 1      # 4 blocks: 6 rows
    screenshot(page, "health")
