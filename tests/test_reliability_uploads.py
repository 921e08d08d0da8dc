"""Hostile uploads (tests/hostile_files.py, a few hundred of them here; bench/bench_reliability.py runs 1,000+):
through Engine.load_file, through the CLI (`python -m engine convert FILE --out x.npy --json`: exit 2
and one line naming the file) and through a real launch.py server's Library upload handler with
gradio_client. Each gets one clear message; the server stays up and answers the next request; its peak
memory is reported; nothing is written outside the app's own folders."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hostile_content import real_sources
from tests.hostile_files import MARKER, make_cases, one_per_kind
from tests.hostile_verdicts import (summarize, through_cli_in_process, through_cli_subprocess, through_engine,
                                    upload_through_server)
from tests.reliability_server import (ROOT, call_raw, client_for, find_endpoint, find_named, handler_message, raw_upload,
                                      running_server, snapshot)

CI_CASES = 300
SERVER_MUTATIONS = 20        # besides every crafted case
REAL_BVH, _, NO_SAMPLES = real_sources()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    cases, skipped = make_cases(folder, n=CI_CASES, seed=0)
    return folder, cases, skipped


def assert_all_clear(outcomes, front: str) -> dict:
    summary = summarize(outcomes)
    print(f"\n{front}: " + ", ".join(f"{k} {v}" for k, v in summary.items() if k != "bad"))
    assert summary["crash"] == 0 and summary["unclear"] == 0, f"{front}:\n" + "\n".join(summary["bad"])
    return summary


def test_every_hostile_file_gets_one_clear_message_from_the_engine(hostile):
    _, cases, skipped = hostile
    assert len(cases) >= CI_CASES
    summary = assert_all_clear(through_engine(cases), "Engine.load_file")
    assert summary["clear"] >= 0.8 * len(cases)   # most of them are broken, and said so


@pytest.mark.skipif(bool(NO_SAMPLES), reason=NO_SAMPLES or "")
def test_mutations_of_the_real_samples_are_among_them(hostile):
    _, cases, _ = hostile
    kinds = {c.kind for c in cases}
    assert {"bvh_real_truncated", "bvh_real_bit_flipped", "bvh_real_token_edit", "npy_truncated"} <= kinds


def test_the_cli_answers_each_with_exit_2_and_one_line_naming_the_file(hostile, tmp_path):
    _, cases, _ = hostile
    assert_all_clear(through_cli_in_process(cases, tmp_path), "CLI main() in process")
    # ... and as real processes: every sixth kind here (the benchmark runs every file as a process)
    sample = one_per_kind(cases)[::6]
    assert_all_clear(through_cli_subprocess(sample, tmp_path), f"python -m engine convert ({len(sample)} kinds)")


def test_the_server_survives_hostile_uploads_and_writes_nothing_elsewhere(hostile, tmp_path):
    folder, cases, _ = hostile
    crafted = [c for c in cases if not c.kind.startswith(("bvh_real", "bvh_procedural", "npy_truncated", "npy_bit"))]
    crafted = [c for c in crafted if c.kind != "bvh_over_100mb_sparse"]   # 101 MB over HTTP: the benchmark's
    chosen = crafted + [c for c in cases if c not in crafted][:SERVER_MUTATIONS]
    work = tmp_path / "server"
    repo_before = snapshot(ROOT, skip_paths=(ROOT / "runs",))
    roots = [Path("/tmp"), Path("/etc"), ROOT, ROOT.parent]
    named_before = set(find_named(roots, MARKER, allowed=(folder,)))   # e.g. earlier runs' pytest folders
    started = time.time()
    with running_server(work) as server:
        client = client_for(server)
        upload = find_endpoint(client, "motion_path", "mapping_path", fallback="/show_upload")
        refresh = find_endpoint(client, "spec_value", "query_value", "split_value", fallback="/refresh")
        rows = client.predict("synthetic", "", "all", api_name=refresh)
        baseline_mb = server.peak_rss_mb()
        tmp_before = snapshot(server.tmpdir)

        outcomes = upload_through_server(server, client, chosen, upload)
        summary = assert_all_clear(outcomes, f"server {upload} ({len(chosen)} uploads)")
        assert server.alive()

        # Hostile names given to the upload API itself: Gradio keeps the base name (no '../', no NUL) and
        # the handler's message names the upload, never the temp folder it sits in.
        broken = b"HIERARCHY\nROOT x\n{\n"
        for name in ("../../" + MARKER + "-escape.bvh", MARKER + "\x00nul.bvh", "/etc/" + MARKER + "-abs.bvh",
                     "..\\..\\" + MARKER + "-win.bvh"):
            status, body = raw_upload(server, name, broken)
            assert status == 200, (name, status, body)
            stored = Path(stored_paths(body)[0])
            assert stored.parent.parent == server.gradio_tmp.resolve() or str(stored).startswith(str(server.gradio_tmp))
            assert "/" not in stored.name and "\x00" not in stored.name
            event, data = call_raw(server, upload, [{"path": str(stored), "meta": {"_type": "gradio.FileData"}}, None])
            message = handler_message(data)
            assert event == "complete" and message and message.startswith(stored.name + ": "), (name, event, data)
            assert str(server.gradio_tmp) not in message
        # A path on the server that nobody uploaded is not read (Gradio refuses to move it into its cache).
        event, _ = call_raw(server, upload, [{"path": str(REAL_BVH[0] if REAL_BVH else ROOT / "launch.py"),
                                              "meta": {"_type": "gradio.FileData"}}, None])
        assert event == "error"

        # The server still answers, and a real file still opens.
        assert client.predict("synthetic", "", "all", api_name=refresh) == rows
        if REAL_BVH:
            from gradio_client import handle_file
            result = client.predict(handle_file(str(REAL_BVH[0])), None, api_name=upload)
            assert handler_message(result) is None and "frames" in result[1]
        peak_mb = server.peak_rss_mb()
        print(f"\nserver peak RSS (VmHWM): {baseline_mb:.0f} MB after start, {peak_mb:.0f} MB after the uploads")
        assert peak_mb - baseline_mb < 1024, "a hostile upload made the server allocate a GB or more"
        new_tmp = snapshot(server.tmpdir) - tmp_before
        assert not new_tmp, f"the server wrote outside its upload folder, in its TMPDIR: {sorted(new_tmp)[:10]}"

    # Nothing named after the uploads outside the server's upload folder and the fuzzer's own folder,
    # and nothing an upload could have produced in the repository.
    leaked = set(find_named(roots, MARKER, allowed=(folder, server.gradio_tmp))) - named_before
    assert not leaked, sorted(leaked)[:10]
    repo_new = {p for p in snapshot(ROOT, skip_paths=(ROOT / "runs",)) - repo_before
                if not p.startswith("checkpoints/") or "/index/" not in p}
    suspicious = [p for p in repo_new if MARKER in p or Path(p).suffix.lower() in (".bvh", ".npy", ".amc", ".asf",
                                                                                     ".json", ".tmp", ".npz")
                  and (ROOT / p).stat().st_mtime >= started]
    assert not suspicious, suspicious
    assert summary["tried"] >= 140


def stored_paths(body: str) -> list[str]:
    import json
    value = json.loads(body)
    assert isinstance(value, list) and value, body
    return value
