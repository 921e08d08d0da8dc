"""MotionLex engine: everything that computes. Never imports gradio.

`Engine` is the one facade that the app and the CLI use.
"""
from __future__ import annotations


def __getattr__(name):
    # Lazy so that `python -m engine convert` does not pay for importing torch.
    if name == "Engine":
        from .facade import Engine
        return Engine
    raise AttributeError(name)
