"""Hostile files (tests/hostile_files.py) through each front end, and a verdict on every answer (no tests here:
tests/test_reliability_uploads.py and bench/bench_reliability.py use it).

The front ends: Engine.load_file (what the app's upload handlers call), the CLI's main() in this process,
`python -m engine convert` as a real process, and a running launch.py server's upload handler
(gradio_client). `judge(...)` classifies what a front end answered: "ok" (the file was still a valid motion,
which a mutation may leave it), "clear" (one line naming the user's file, no traceback, no server path),
"unclear" (an error that is not clear) or "crash"; `summarize` counts the verdicts.
"""
from __future__ import annotations

from pathlib import Path

from tests.hostile_files import Case
from tests.reliability_server import Server, handler_message

ROOT = Path(__file__).resolve().parents[1]
MAX_MESSAGE_CHARS = 2000    # longer than this is not "one clear message"


# ---------------------------------------------------------------------------------------- judging
def judge(case: Case, message: str | None, crashed: bool = False, forbidden: tuple[str, ...] = (),
          shown_names: list[str] | None = None) -> tuple[str, str]:
    """(outcome, why) for what a front end answered about `case`: message None means the file loaded.

    clear = one line, names the user's file (or its mapping), no traceback or internal error, no
    server path (`forbidden`: e.g. the upload temp folder), at most MAX_MESSAGE_CHARS."""
    if crashed:
        return "crash", (message or "")[-300:]
    if message is None:
        if case.expect == "error":
            return "unclear", "accepted a file that must be refused"
        return "ok", ""
    names = shown_names or case.shown_names
    problems = []
    if "\n" in message.strip():
        problems.append("more than one line")
    if not any(name in message for name in names):
        problems.append(f"does not name {names[0]!r}")
    if "Traceback" in message or "internal error" in message:
        problems.append("a traceback or internal error")
    leaked = [f for f in forbidden if f and f in message]
    if leaked:
        problems.append(f"shows the server path {leaked[0]}")
    if len(message) > MAX_MESSAGE_CHARS:
        problems.append(f"{len(message)} characters long")
    return ("unclear", "; ".join(problems) + f": {message[:300]!r}") if problems else ("clear", "")


def summarize(outcomes: list[tuple[Case, str, str]]) -> dict:
    """Counts per outcome and per kind, and the first few unclear / crash cases."""
    counts = {"tried": len(outcomes), "ok": 0, "clear": 0, "unclear": 0, "crash": 0}
    for _, outcome, _ in outcomes:
        counts[outcome] += 1
    refused = counts["clear"] + counts["unclear"] + counts["crash"]
    counts["clear_error_pct"] = round(100.0 * counts["clear"] / refused, 2) if refused else 100.0
    counts["bad"] = [f"{c.name}: {outcome}: {why}" for c, outcome, why in outcomes if outcome in ("unclear", "crash")][:12]
    return counts


# ---------------------------------------------------------------------------------------- front ends
def through_engine(cases: list[Case], engine=None) -> list[tuple[Case, str, str]]:
    """Every case through Engine.load_file (what the app's upload handlers call); warnings count as crashes
    (an overflow warning is a reader computing with values it should have refused)."""
    import traceback
    import warnings

    from engine.errors import MotionLexError
    from engine.facade import Engine

    engine = engine or Engine()
    out = []
    for case in cases:
        crashed, message = False, None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                engine.load_file(case.path, case.mapping)
        except MotionLexError as err:
            message = str(err)
        except BaseException as err:  # noqa: BLE001 - the point is to see anything at all
            crashed, message = True, "".join(traceback.format_exception_only(type(err), err))
        # the facade leaves the folder out (an upload's folder is a server temp folder)
        outcome, why = judge(case, message, crashed, forbidden=(str(case.path.parent),))
        out.append((case, outcome, why))
    return out


def cli_args(case: Case, out_path: Path) -> list[str]:
    args = ["convert", str(case.path), "--out", str(out_path), "--json"]
    return args + (["--mapping", str(case.mapping)] if case.mapping else [])


def judge_cli(case: Case, code: int | None, stderr: str, crashed: bool = False) -> tuple[str, str]:
    """`python -m engine convert`: exit 0, or exit 2 and one line `error: <path as given>: problem`."""
    if crashed:
        return judge(case, stderr, crashed=True)
    lines = [line for line in stderr.splitlines() if line.strip()]
    if code == 0:
        return judge(case, None)
    if code == 2 and len(lines) == 1 and lines[0].startswith("error: "):
        names = [str(case.path)] + ([str(case.mapping)] if case.mapping else []) + [str(case.path.with_suffix(".asf"))]
        return judge(case, lines[0][len("error: "):], shown_names=names)
    return "crash" if "Traceback" in stderr or code not in (0, 2) else "unclear", \
        f"exit {code}, stderr {stderr[-300:]!r}"


def through_cli_in_process(cases: list[Case], out_dir: Path) -> list[tuple[Case, str, str]]:
    """The CLI's own main() (engine/__main__.py) in this process: every case, quickly."""
    import contextlib
    import io
    import traceback
    import warnings

    from engine.__main__ import main

    out = []
    for case in cases:
        err, crashed, code = io.StringIO(), False, None
        try:
            with warnings.catch_warnings(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("error")
                code = main(cli_args(case, out_dir / "converted.npy"))
        except BaseException as exc:  # noqa: BLE001
            crashed = True
            err.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        out.append((case, *judge_cli(case, code, err.getvalue(), crashed)))
    return out


def through_cli_subprocess(cases: list[Case], out_dir: Path, timeout: float = 120) -> list[tuple[Case, str, str]]:
    """`python -m engine convert FILE --out x.npy --json` as a real process per case."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = []
    for case in cases:
        try:
            done = subprocess.run([sys.executable, "-m", "engine", *cli_args(case, out_dir / "converted.npy")], cwd=ROOT,
                                  env=env, capture_output=True, text=True, timeout=timeout)
            out.append((case, *judge_cli(case, done.returncode, done.stderr)))
        except subprocess.TimeoutExpired:
            out.append((case, "crash", f"no answer in {timeout} s"))
    return out


# ---------------------------------------------------------------------------------------- the server
def upload_through_server(server: Server, client, cases: list, endpoint: str, check_every: int = 1) -> list[tuple]:
    """Each case through the running app's upload handler (gradio_client, the file and its mapping as
    uploads); -> [(case, outcome, why)] judged by `judge` above. The server must stay up."""
    from gradio_client import handle_file
    from gradio_client.utils import strip_invalid_filename_characters

    forbidden = (str(server.gradio_tmp), str(server.tmpdir))
    out = []
    for i, case in enumerate(cases):
        names = case.shown_names + [strip_invalid_filename_characters(n) for n in case.shown_names]
        try:
            result = client.predict(handle_file(str(case.path)),
                                    handle_file(str(case.mapping)) if case.mapping else None, api_name=endpoint)
            outcome, why = judge(case, handler_message(result), forbidden=forbidden, shown_names=names)
        except Exception as err:  # noqa: BLE001 - what the client saw
            text = str(err)
            if "Invalid file type" in text:   # Gradio's own check of the upload box's file types: a clear refusal
                outcome, why = "clear", ""
            else:
                outcome, why = "crash", f"{type(err).__name__}: {text[:300]}"
        out.append((case, outcome, why))
        if i % check_every == 0 and not server.alive():
            out.append((case, "crash", f"the server died: {server.log_tail(800)}"))
            break
    return out

