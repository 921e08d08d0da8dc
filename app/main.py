"""The Gradio app: a title, a short intro and one tab per module; `serve` starts it."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from . import audit_tab, explain_tab, library_tab, search_tab, training_tab
from .viewer import FRAMES_LOADER_JS

CSS_PATH = Path(__file__).resolve().parents[1] / "assets" / "app.css"

INTRO = """# MotionLex
An interpretable motion-language workbench: motions and texts share one sparse space whose
dimensions are English words. **Library** browses clips and plays any clip or motion file (.bvh, .npy) as a
3D skeleton (left side blue, right side orange); **Search** finds motions by text or keywords and says which
words matched; **Caption & Explain** captions a motion and shows its words and where the model looks;
**Audit** compares what a dataset's captions say with what its motions show; **Training** trains a model."""


def build_app(engine) -> gr.Blocks:
    with gr.Blocks(title="MotionLex") as demo:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Tabs():
            with gr.Tab("Library", id="library"):
                library_tab.build(engine, demo)
            with gr.Tab("Search", id="search"):
                search_tab.build(engine, demo)
            with gr.Tab("Caption & Explain", id="explain"):
                explain_tab.build(engine, demo)
            with gr.Tab("Audit", id="audit"):
                audit_tab.build(engine, demo)
            with gr.Tab("Training", id="training"):
                training_tab.build(engine, demo)
    return demo


def serve(engine, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None) -> None:
    """Build and launch (blocking). launch.py has already refused a public bind without auth."""
    demo = build_app(engine)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, auth=auth, show_error=False, css_paths=[CSS_PATH],
                head=FRAMES_LOADER_JS, footer_links=["gradio"], inbrowser=False, share=False)
