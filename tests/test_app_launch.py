"""launch.py refuses a public bind without --auth, and validates --auth."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import launch  # noqa: E402


def run_launch(*args):
    return subprocess.run([sys.executable, str(ROOT / "launch.py"), *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def test_public_bind_without_auth_is_refused():
    result = run_launch("--host", "0.0.0.0", "--port", "7999")
    assert result.returncode == 2
    assert "refusing to serve on '0.0.0.0' without --auth" in result.stderr


@pytest.mark.parametrize("auth", ["nopassword", ":x", "user:"])
def test_malformed_auth_is_refused(auth):
    assert launch.main(["--host", "0.0.0.0", "--auth", auth]) == 2


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                           ("example.org", False)])
def test_is_loopback(host, loopback):
    assert launch.is_loopback(host) is loopback


def test_defaults():
    args = launch.parse_args([])
    assert (args.host, args.port, args.data, args.auth) == ("127.0.0.1", 7860, "synthetic", None)
