"""The Gradio app: a title, a short intro and one tab per module; `serve` starts it."""
from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr

from . import (attention_tab, audit_tab, explain_tab, generate_tab, health_tab, library_tab, search_tab,
               training_tab)
from .viewer import FRAMES_LOADER_JS

CSS_PATH = Path(__file__).resolve().parents[1] / "assets" / "app.css"

INTRO = """# MotionLex
An interpretable motion-language workbench: motions and texts share one sparse space whose
dimensions are English words. **Library** browses clips and plays any clip or motion file (.bvh, .npy) as a
3D skeleton (left side blue, right side orange); **Search** finds motions by text or keywords and says which
words matched; **Caption & Explain** captions a motion and shows its words over time; **Attention** shows which
joints and moments drive the encoder and each word; **Generate** turns text into motion (base and SoPo);
**Audit** compares what a dataset's captions say with what its motions show; **Feature health** checks the
encoder for dimension collapse; **Training** trains a model."""

# (tab label, id, module): one module per tab, each with build(engine, demo)
TABS = (("Library", "library", library_tab), ("Search", "search", search_tab),
        ("Caption & Explain", "explain", explain_tab), ("Attention", "attention", attention_tab),
        ("Generate", "generate", generate_tab), ("Audit", "audit", audit_tab),
        ("Feature health", "health", health_tab), ("Training", "training", training_tab))


def build_app(engine) -> gr.Blocks:
    with gr.Blocks(title="MotionLex") as demo:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Tabs():
            for label, tab_id, module in TABS:
                with gr.Tab(label, id=tab_id) as tab:
                    shown = module.build(engine, demo)
                if shown is not None:        # (fn, outputs) a tab runs when it is opened, not on page load
                    tab.select(shown[0], None, shown[1], show_progress="hidden")
    warm_up(engine)     # after building: started earlier, its process pool slows the server's own start
    return demo


def warm_up(engine) -> threading.Thread:
    """Open the first library, then load the model, its index and everything a first search or caption needs
    (Engine.warm_up) in the background while the server starts: the first page shows its table without
    waiting for the dataset, and the user's first search or caption does not wait for set-up."""
    def run():
        try:
            spec = engine.datasets()[0]
            engine.dataset(spec)
            engine.warm_up(spec)
        except Exception:  # noqa: BLE001 - a bad --data or checkpoint is reported by the tab that uses it
            pass
    thread = threading.Thread(target=run, name="motionlex-warm-up", daemon=True)
    thread.start()
    return thread


# -- queue limits and auth (launch.py parses them) ----------------------------------------------------
# At most CONCURRENCY requests of one kind run at once; at most max_queue wait. One more is answered at
# once with Gradio's "Queue is full" (HTTP 503), never left hanging.
CONCURRENCY = 4
MAX_QUEUE = 64


def serve(engine, host: str = "127.0.0.1", port: int = 7860, auth: list[tuple[str, str]] | tuple[str, str] | None = None,
          max_queue: int = MAX_QUEUE, share: bool = False) -> None:
    """Build and launch (blocking). launch.py has already refused a public bind or share without auth."""
    demo = build_app(engine)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=max_queue)
    demo.launch(server_name=host, server_port=port, auth=auth, show_error=False, css_paths=[CSS_PATH],
                head=FRAMES_LOADER_JS, footer_links=["gradio"], inbrowser=False, share=share)
