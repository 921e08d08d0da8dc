"""Turning failures into messages: no handler ever shows a traceback, and the server stays up.

A MotionLexError is the user's to fix (bad spec, bad file): its message is shown as is. Anything
else is our bug: the page gets one line, the server log gets the traceback.
"""
from __future__ import annotations

import functools
import logging

import gradio as gr

from engine.errors import MotionLexError

log = logging.getLogger("motionlex.app")


def describe(err: BaseException) -> str:
    if isinstance(err, MotionLexError):
        return str(err)
    return f"internal error ({type(err).__name__}: {err}); the server log has the details"


def error_markdown(what: str, err: BaseException) -> str:
    return f'<div class="ml-error">⚠️ <b>{what}</b>: {escape(describe(err))}</div>'


def escape(text: str) -> str:
    """File names and captions are user data: never let them become markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def guarded(what: str, n_outputs: int, message_index: int):
    """Wrap a handler with n_outputs outputs: on failure, warn, put the message at message_index
    and leave every other output unchanged (gr.skip())."""
    def wrap(fn):
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the UI must survive anything a handler does
                if not isinstance(err, MotionLexError):
                    log.exception("%s failed", what)
                gr.Warning(f"{what}: {describe(err)}")
                outputs = [gr.skip()] * n_outputs
                outputs[message_index] = error_markdown(what, err)
                return tuple(outputs) if n_outputs > 1 else outputs[0]
        return handler
    return wrap
