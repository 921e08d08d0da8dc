"""Turning failures into messages: no handler ever shows a traceback, and the server stays up.

A MotionLexError is the user's to fix (bad spec, bad file): its message is shown as is. Anything
else is our bug: the page gets one line, the server log gets the traceback. A message is shown once, in
the place the request was made (no toast on top of it); outputs that would otherwise keep showing the
previous request's results are cleared.
"""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import gradio as gr

from engine.errors import MotionLexError

log = logging.getLogger("motionlex.app")
_ENTITY = re.compile(r"&(?=#?\w+;)")


def describe(err: BaseException) -> str:
    if isinstance(err, MotionLexError):
        return str(err)
    return f"internal error ({type(err).__name__}: {err}); the server log has the details"


def error_markdown(what: str, err: BaseException | str) -> str:
    text = err if isinstance(err, str) else describe(err)
    return f'<div class="ml-error">⚠️ <b>{html(what)}</b>: {html(text)}</div>'


def html(text: str) -> str:
    """Text inside HTML: every markup character escaped (the browser shows it as typed)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """User data (file names, captions, specs) in Markdown: never markup, and shown as typed. Only what
    would become a tag or an entity is escaped, so a plain "&" stays "&" (not "&amp;" on the page)."""
    text = _ENTITY.sub("&amp;", str(text))
    return text.replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """Inline code in Markdown: shown literally (no entities inside code spans, which would show as typed)."""
    text = str(text).replace("`", "'")
    return f"`{text}`"


def upload_name(path) -> str:
    """The name the user gave their file (Gradio keeps it as the file name inside its hashed temp folder)."""
    if not path:
        return ""
    return Path(getattr(path, "name", path)).name


def guarded(what: str, n_outputs: int, message_index: int, clear: dict | None = None):
    """Wrap a handler with n_outputs outputs: on failure, put the message at message_index, set the outputs in
    `clear` ({index: value}, e.g. an empty table) so no stale result stays on the page, and leave every other
    output unchanged (gr.skip())."""
    def wrap(fn):
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the UI must survive anything a handler does
                if not isinstance(err, MotionLexError):
                    log.exception("%s failed", what)
                outputs = [gr.skip()] * n_outputs
                for index, value in (clear or {}).items():
                    outputs[index] = value
                outputs[message_index] = error_markdown(what, err)
                return tuple(outputs) if n_outputs > 1 else outputs[0]
        return handler
    return wrap


def is_error(value) -> bool:
    """Whether a handler output is an error message (for tests and for handlers that chain)."""
    return isinstance(value, str) and 'class="ml-error"' in value


def bind(fn, engine):
    """fn(engine, *inputs) as the function Gradio calls with the inputs only (its name, and its signature
    without `engine`, so Gradio still sees defaults such as progress=gr.Progress())."""
    import inspect

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return fn(engine, *args, **kwargs)

    signature = inspect.signature(fn)
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    del call.__wrapped__   # Gradio must read __signature__, not the wrapped function's
    return call


# ---- shared by several tabs (a tab never imports another tab) ---------------------------------------------
HIT_HEADERS = ["rank", "id", "score", "caption", "found because"]


def gradio_progress(progress: gr.Progress):
    """engine progress(done, total, stage) -> Gradio's progress bar."""
    return lambda done, total, stage="": progress((done, total), desc=stage)


def words_text(terms: list, n: int = 5) -> str:
    """'left (0.80), raise (0.61)': the words a score is made of, heaviest first."""
    return ", ".join(f"{w} ({c:.2f})" for w, c in list(terms)[:n])


def hit_rows(hits: list[dict]) -> list[list]:
    """Ranked motion hits (search, find similar) as table rows: rank, id, score, caption, their heaviest words."""
    return [[rank, h["id"], round(h["score"], 3), h["caption"], words_text(h["terms"], 4)]
            for rank, h in enumerate(hits, start=1)]
