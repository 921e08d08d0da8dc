"""The README shows a screenshot of every tab (made by the browser tests): each is there and small."""
import re

from tests.browser import ASSETS, README_SHOT_BYTES, ROOT

TABS = ("library", "search", "explain", "attention", "generate", "audit", "health", "training")


def test_every_tab_has_a_small_screenshot_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    shown = set(re.findall(r"assets/screenshots/(\w+)\.png", readme))
    assert shown >= set(TABS), sorted(set(TABS) - shown)
    for name in TABS:
        path = ASSETS / f"{name}.png"
        assert path.is_file(), f"{path} is missing: run tests/test_app_browser*.py"
        assert path.stat().st_size <= README_SHOT_BYTES, (name, path.stat().st_size)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
