"""Serving rules the app keeps (launch.py belongs to the reliability engineer: here only that the rules exist):
loopback by default, a public bind or --share refused without --auth, and uploads capped before parsing: an
oversize file is refused by its size, the reader never opens it."""
import sys

import pytest

from app import attention_tab, explain_tab, library_tab
from app.feedback import is_error
from engine import Engine
from engine.motion import MAX_FILE_BYTES
from tests.app_fixtures import NoProgress
from tests.browser import ROOT

sys.path.insert(0, str(ROOT))
import launch  # noqa: E402


def test_loopback_by_default_and_public_needs_auth(capsys):
    assert launch.parse_args([]).host == "127.0.0.1" and launch.is_loopback("127.0.0.1")
    assert launch.main(["--host", "0.0.0.0"]) == 2
    assert launch.main(["--share"]) == 2
    assert "--auth" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".bvh", ".npy"])
def test_an_oversize_upload_is_refused_before_any_parsing(tmp_path, monkeypatch, suffix):
    import engine.motion_io as motion_io

    def never(*args, **kwargs):
        raise AssertionError("the reader was called on an oversize file")

    monkeypatch.setattr(motion_io, "load_motion", never)
    big = tmp_path / f"huge{suffix}"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)   # sparse: costs no disk
    engine = Engine()
    _, message, _ = library_tab.open_file(engine, str(big))
    assert is_error(message) and f"huge{suffix}" in message and "limit" in message
    _, status, _ = attention_tab.choose_file(engine, str(big))
    assert is_error(status) and "limit" in status
    out = explain_tab.explain_file(engine, str(big), "synthetic", "1", progress=NoProgress())
    assert is_error(out[0]) and "limit" in out[0]
