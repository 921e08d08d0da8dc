"""Who may connect, and what a request may read.

- launch.py (run as a real process) refuses a non-loopback bind or --share without credentials, and an
  --auth-file that group or others may read; with --auth-file, a real server refuses every API request
  without a session or with wrong credentials (urllib, loopback only) and serves a logged-in one.
- A `bvh:/folder` spec reads nothing outside its folder: symbolic links out of it are not followed,
  unreadable files are not listed, labels / mapping files must be inside it; what was left out is said.
- The engine and app sources never unpickle: no allow_pickle=True, no torch.load without
  weights_only=True, no eval / exec / pickle / marshal / shell on anything (an AST scan, not a regex).
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from engine.data import open_dataset
from engine.errors import SpecError
from tests.reliability_server import ROOT, running_server

SAMPLES = ROOT.parent / "shared" / "data" / "samples"


def launch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "launch.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=dict(os.environ, GRADIO_ANALYTICS_ENABLED="False"))


# ------------------------------------------------------------------------------ launch.py refuses
@pytest.mark.parametrize("args,expected", [
    (["--host", "0.0.0.0"], "refusing to serve on '0.0.0.0' without --auth"),
    (["--host", "::"], "refusing to serve on '::' without --auth"),
    (["--host", "192.168.1.5", "--port", "7999"], "refusing to serve on '192.168.1.5'"),
    (["--host", "my-laptop.example"], "refusing to serve on 'my-laptop.example'"),
    (["--share"], "refusing --share without --auth"),
    (["--share", "--host", "127.0.0.1"], "refusing --share without --auth"),
    (["--max-queue", "0"], "--max-queue must be at least 1"),
])
def test_launch_refuses_to_serve_publicly_without_credentials(args, expected):
    result = launch(*args)
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_launch_refuses_an_auth_file_others_may_read(tmp_path):
    auth = tmp_path / "users.txt"
    auth.write_text("alice:correct-horse\n")
    for mode in (0o644, 0o640, 0o604, 0o660):
        os.chmod(auth, mode)
        result = launch("--host", "0.0.0.0", "--auth-file", str(auth))
        assert result.returncode == 2 and "readable or writable by group or others" in result.stderr, result.stderr
        assert f"chmod 600 {auth}" in result.stderr
    os.chmod(auth, 0o600)
    for content, problem in (("", "no user:password line"), ("alice\n", "line 1 is not user:password"),
                             ("# users\nbob:\n", "line 2 is not user:password")):
        auth.write_text(content)
        result = launch("--host", "0.0.0.0", "--auth-file", str(auth))
        assert result.returncode == 2 and problem in result.stderr, result.stderr
    result = launch("--host", "0.0.0.0", "--auth-file", str(tmp_path / "missing.txt"))
    assert result.returncode == 2 and "cannot read it" in result.stderr
    result = launch("--auth-file", str(tmp_path))
    assert result.returncode == 2 and "not a regular file" in result.stderr


def test_read_auth_file_accepts_a_private_file(tmp_path):
    sys.path.insert(0, str(ROOT))
    import launch as launcher
    auth = tmp_path / "users.txt"
    auth.write_text("# who may connect\nalice:correct horse:battery\n\nbob:pw\n")
    os.chmod(auth, 0o600)
    assert launcher.read_auth_file(str(auth)) == [("alice", "correct horse:battery"), ("bob", "pw")]


# ------------------------------------------------------------------------------ a server with auth
def ask(url: str, data: dict | bytes | None = None, opener=None, form: bool = False) -> tuple[int, str, str]:
    """(status, final URL, body) of a GET or POST; HTTP errors are answers here, not exceptions."""
    if isinstance(data, dict):
        body = urllib.parse.urlencode(data).encode() if form else json.dumps(data).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded" if form else "application/json"}
    else:
        body, headers = data, {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
            return response.status, response.geturl(), response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, url, err.read().decode(errors="replace")


def test_without_or_with_wrong_credentials_every_api_request_is_refused(tmp_path):
    auth = tmp_path / "users.txt"
    auth.write_text("alice:correct-horse-battery\n")
    os.chmod(auth, 0o600)
    with running_server(tmp_path / "server", "--auth-file", str(auth)) as server:
        base = server.url
        join = {"data": ["walk", "keywords", 5, "synthetic"], "fn_index": 0, "session_hash": "abc123"}
        upload = (b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bvh\"\r\n\r\nHIERARCHY\r\n--x--\r\n")
        anonymous = {
            "queue/join": ask(base + "gradio_api/queue/join", join),
            "call/run_search": ask(base + "gradio_api/call/run_search", {"data": ["walk", "keywords", 5, "synthetic"]}),
            "run/predict": ask(base + "gradio_api/run/predict", {"data": [], "fn_index": 0}),
            "queue/data": ask(base + "gradio_api/queue/data?session_hash=abc123"),
            "info": ask(base + "gradio_api/info"),
            "config": ask(base + "config"),
        }
        request = urllib.request.Request(base + "gradio_api/upload", data=upload, method="POST",
                                         headers={"Content-Type": "multipart/form-data; boundary=x"})
        try:
            anonymous["upload"] = (urllib.request.urlopen(request, timeout=60).status, "", "")
        except urllib.error.HTTPError as err:
            anonymous["upload"] = (err.code, "", "")
        for route, (status, _, body) in anonymous.items():
            assert status in (401, 403), (route, status, body[:200])
        status, _, page = ask(base)   # the page is the login form: none of the app is in it
        assert status == 200 and "motion-language workbench" not in page and "synth_0" not in page
        assert '"auth_required":true' in page.replace(" ", "") or "gradio_config" not in page

        wrong = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        status, _, body = ask(base + "login", {"username": "alice", "password": "wrong"}, wrong, form=True)
        assert status in (400, 401, 403), (status, body[:200])
        assert ask(base + "gradio_api/queue/join", join, wrong)[0] in (401, 403)
        status, _, body = ask(base + "login", {"username": "mallory", "password": "correct-horse-battery"}, wrong, form=True)
        assert status in (400, 401, 403), (status, body[:200])

        right = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        status, _, body = ask(base + "login", {"username": "alice", "password": "correct-horse-battery"}, right, form=True)
        assert status == 200, (status, body[:200])
        status, _, body = ask(base + "config", opener=right)
        assert status == 200 and "dependencies" in body
        config = json.loads(body)
        index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "run_search")
        status, _, body = ask(base + "gradio_api/queue/join", {**join, "fn_index": index}, right)
        assert status == 200 and "event_id" in body, (status, body[:200])


# ------------------------------------------------------------------------------ bvh:/folder stays inside
def sample_folder(dest: Path) -> Path:
    from tests.hostile_content import procedural_bvh_text
    dest.mkdir(parents=True)
    (dest / "walk_fast_01.bvh").write_text(procedural_bvh_text(dest))
    (dest / "procedural-source.bvh.txt").unlink()
    return dest


def test_a_bvh_folder_spec_never_follows_a_link_out_of_its_folder(tmp_path):
    folder = sample_folder(tmp_path / "mocap")
    outside = sample_folder(tmp_path / "elsewhere")
    (outside / "secret.bvh").write_text((outside / "walk_fast_01.bvh").read_text())
    (outside / "labels.csv").write_text("walk_fast_01.bvh,root:x:0:0:root:/root:/bin/bash\n")
    os.symlink(outside / "secret.bvh", folder / "secret_link.bvh")     # a file link out of the folder
    os.symlink(outside, folder / "more")                               # a folder link out of it
    os.symlink(folder / "walk_fast_01.bvh", folder / "inside_link.bvh")  # a link that stays inside: fine
    os.symlink(tmp_path / "nowhere.bvh", folder / "broken.bvh")
    os.mkfifo(folder / "fifo.bvh")                                     # opening it would block forever
    dataset = open_dataset(f"bvh:{folder}")
    assert sorted(c.id for c in dataset.clips) == ["inside_link", "walk_fast_01"]
    assert all(Path(c.source).resolve().is_relative_to(folder.resolve()) for c in dataset.clips)
    said = "\n".join(dataset.skipped)
    assert "secret_link.bvh: a symbolic link to a file outside the folder" in said
    assert "more/: a symbolic link to a folder (not followed)" in said
    assert "broken.bvh: a broken symbolic link" in said and "fifo.bvh: not a regular file" in said
    for option in ("labels", "mapping"):
        for name in (str(outside / "labels.csv"), "../elsewhere/labels.csv", "more/labels.csv"):
            with pytest.raises(SpecError, match="outside the folder") as info:
                open_dataset(f"bvh:{folder}?{option}={name}")
            assert "root:x" not in str(info.value)
    (folder / "labels.csv").write_text("walk_fast_01.bvh,a person walks fast\n")
    assert open_dataset(f"bvh:{folder}?labels=labels.csv").clip("walk_fast_01").captions == ["a person walks fast"]
    only_links = tmp_path / "only_links"
    only_links.mkdir()
    os.symlink(outside / "secret.bvh", only_links / "a.bvh")
    with pytest.raises(SpecError, match="no .bvh files to read .*symbolic link to a file outside the folder"):
        open_dataset(f"bvh:{only_links}")


LIST_AS_NOBODY = """
import sys
from engine.data import open_dataset
d = open_dataset(sys.argv[1])
print(sorted(c.id for c in d.clips))
print(d.skipped)
"""


def test_a_bvh_folder_spec_never_lists_files_it_cannot_read(tmp_path):
    folder = sample_folder(tmp_path / "mocap")
    shutil.copy(folder / "walk_fast_01.bvh", folder / "private.bvh")
    os.chmod(folder / "private.bvh", 0o600)
    os.chmod(tmp_path, 0o755)
    os.chmod(folder, 0o755)
    os.chmod(folder / "walk_fast_01.bvh", 0o644)
    if os.geteuid() != 0:
        command = [sys.executable, "-c", LIST_AS_NOBODY, f"bvh:{folder}"]
        os.chmod(folder / "private.bvh", 0o000)
    elif shutil.which("setpriv"):   # root reads everything: list the folder as the user nobody
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                   LIST_AS_NOBODY, f"bvh:{folder}"]
    else:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    parents = [p for p in tmp_path.parents if p != Path("/")]
    modes = {p: p.stat().st_mode for p in parents}
    try:
        for p in parents:   # nobody must reach the folder (pytest's base temp folder is private)
            os.chmod(p, modes[p] | 0o005)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/",
                              env=dict(os.environ, PYTHONPATH=str(ROOT), MOTIONLEX_CACHE=str(tmp_path / "cache"),
                                       HOME=str(tmp_path)))
    finally:
        for p in parents:
            os.chmod(p, modes[p])
    assert done.returncode == 0, done.stderr[-2000:]
    ids, skipped = done.stdout.strip().splitlines()[-2:]
    assert ids == "['walk_fast_01']", done.stdout
    assert "private.bvh: cannot be read" in skipped, skipped


# ------------------------------------------------------------------------------ no unpickling anywhere
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}


def unsafe_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"imports {n}" for n in names if n.split(".")[0] in UNSAFE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        keywords = {k.arg: k.value for k in node.keywords}

        def is_true(key):
            value = keywords.get(key)
            return isinstance(value, ast.Constant) and value.value is True

        where = f"line {node.lineno}: {ast.unparse(node)[:100]}"
        if isinstance(func, ast.Name) and name in ("eval", "exec", "compile", "__import__"):
            found.append(where)
        if name == "load" and owner == "torch" and not is_true("weights_only"):
            found.append(where + " (torch.load without weights_only=True)")
        if is_true("allow_pickle"):
            found.append(where + " (allow_pickle=True)")
        if is_true("trust_remote_code"):
            found.append(where + " (trust_remote_code=True)")
        if name in ("read_pickle", "unsafe_load") or (name == "load" and owner == "yaml"):
            found.append(where)
        if name in ("system", "popen") and owner == "os" or is_true("shell"):
            found.append(where + " (a shell)")
    return found


def test_no_source_in_engine_or_app_unpickles_or_evaluates_anything():
    files = sorted((ROOT / "engine").rglob("*.py")) + sorted((ROOT / "app").rglob("*.py")) + [ROOT / "launch.py"]
    assert len(files) > 50
    found = {str(p.relative_to(ROOT)): hits for p in files if (hits := unsafe_calls(p))}
    assert not found, json.dumps(found, indent=1)


def test_the_scan_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\nimport numpy as np, torch\nnp.load(f, allow_pickle=True)\ntorch.load(f)\n"
                   "torch.load(f, weights_only=False)\neval(text)\nexec(code)\nimport os\nos.system(cmd)\n"
                   "model.eval()\nnp.load(f)\ntorch.load(f, weights_only=True)\n")
    assert len(unsafe_calls(bad)) == 7, unsafe_calls(bad)


def test_a_bvh_folder_spec_does_not_walk_a_whole_disk(tmp_path, monkeypatch):
    import engine.data.bvh_folder as bvh_folder
    folder = sample_folder(tmp_path / "mocap")
    for i in range(12):
        (folder / f"sub{i}").mkdir()
    monkeypatch.setattr(bvh_folder, "MAX_ENTRIES", 10)   # `bvh:/` would otherwise walk every file of the machine
    with pytest.raises(SpecError, match="more than 10 files and folders"):
        open_dataset(f"bvh:{folder}")
