"""Training tab: start `engine train` in the background, watch its status and loss curves, cancel it,
and switch the app to the checkpoint it wrote."""
from __future__ import annotations

import math

import gradio as gr
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.config import ALL_PHASES, DEFAULT_PHASES

from .feedback import escape, guarded

PHASES = list(ALL_PHASES)   # the engine's phase names: a phase added there shows up here
PRESETS = ["tiny", "paper"]
NOT_PLOTTED = {"step", "phase", "lr", "time", "seconds_per_step", "dec_mask", "warning", "total_steps"}
STATE_LABELS = {"finished": "done"}
REFRESH_S = 3.0
PALETTE = ("#1f6fd1", "#e8710a", "#27ae60", "#c0392b", "#8e44ad", "#16a085", "#7f8c8d", "#d4ac0d")


def parse_overrides(text: str) -> list[str]:
    """One `key=value` per line or separated by spaces ('--set' prefixes are tolerated)."""
    items = (text or "").replace("--set", " ").split()
    return [item for item in items if item.strip()]


def loss_figure(records: list[dict]) -> go.Figure:
    """One panel per phase (in the order trained), one line per logged loss term; a log y axis because
    FLOPs regularisers and InfoNCE live on very different scales than the reconstruction losses."""
    phases = list(dict.fromkeys(r["phase"] for r in records))
    if not phases:
        fig = go.Figure()
        fig.update_layout(height=300, paper_bgcolor="white", plot_bgcolor="white",
                          annotations=[dict(text="no metrics logged yet", showarrow=False, font=dict(size=15))],
                          xaxis=dict(visible=False), yaxis=dict(visible=False))
        return fig
    fig = make_subplots(rows=1, cols=len(phases), subplot_titles=phases, horizontal_spacing=0.06)
    colours: dict[str, str] = {}   # one colour per term across panels, listed once in the legend
    for col, phase in enumerate(phases, start=1):
        rows = [r for r in records if r["phase"] == phase]
        terms = [k for k in rows[-1] if k not in NOT_PLOTTED and isinstance(rows[-1][k], (int, float))]
        for term in terms:
            first_time = term not in colours
            colour = colours.setdefault(term, PALETTE[len(colours) % len(PALETTE)])
            points = [(r["step"], r[term]) for r in rows
                      if isinstance(r.get(term), (int, float)) and math.isfinite(r[term]) and r[term] > 0]
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=term,
                                     mode="lines+markers", line=dict(color=colour, width=2.5 if term == "loss" else 1.5),
                                     marker=dict(size=5), legendgroup=term, showlegend=first_time,
                                     hovertemplate=f"{phase} %{{x}}: {term} = %{{y:.4g}}<extra></extra>"),
                          row=1, col=col)
        fig.update_xaxes(title_text="step", gridcolor="#eee", row=1, col=col)
        fig.update_yaxes(type="log", gridcolor="#eee", row=1, col=col)
    fig.update_layout(height=380, margin=dict(l=50, r=20, t=60, b=45), paper_bgcolor="white", plot_bgcolor="white",
                      title=dict(text="Loss terms per phase (log scale)", x=0.01, xanchor="left", font=dict(size=15)),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def status_markdown(status: dict) -> str:
    state = status.get("state", "idle")
    if state == "idle":
        return "No training run yet. Choose the data and phases, then **Start**."
    label = STATE_LABELS.get(state, state)
    parts = [f"**{label}**"]
    if status.get("phase"):
        total = f"/{status['total_steps']}" if status.get("total_steps") else ""
        parts.append(f"phase **{status['phase']}** step {status.get('step')}{total}")
    last = status.get("last_metrics") or {}
    if isinstance(last.get("loss"), (int, float)):
        parts.append(f"last loss {last['loss']:.4g}")
    if status.get("seconds") is not None:
        parts.append(f"{status['seconds']:.0f} s")
    if status.get("exit_code") not in (None, 0):
        parts.append(f"exit code {status['exit_code']} (see the log below)")
    return " · ".join(parts) + f"\n\noutput: `{escape(status.get('out_dir', ''))}`"


def build(engine, demo: gr.Blocks) -> None:
    with gr.Row():
        with gr.Column(scale=4):
            data = gr.Textbox(value=engine.datasets()[0], label="Dataset spec(s)",
                              info="comma-separated specs train on several datasets at once", elem_id="train-data")
            with gr.Row():
                preset = gr.Dropdown(PRESETS, value="tiny", label="Preset", info="tiny: CPU minutes; paper: GPU",
                                     elem_id="train-preset")
                minutes = gr.Number(value=None, label="Max minutes", info="0: no limit", minimum=0,
                                    elem_id="train-minutes")
            phases = gr.CheckboxGroup(PHASES, value=list(DEFAULT_PHASES), label="Phases", elem_id="train-phases")
            out = gr.Textbox(label="Output folder", placeholder="runs/<date-time>",
                             info="relative paths are inside the repository",
                             elem_id="train-out")
            overrides = gr.Textbox(label="Config overrides (--set)", lines=3,
                                   placeholder="train.lexcmlp.steps=100\nmodel.motion_depth=2", elem_id="train-set")
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="train-start")
                cancel = gr.Button("Cancel", variant="stop", elem_id="train-cancel")
                use = gr.Button("Use this checkpoint", elem_id="train-use")
        with gr.Column(scale=6):
            status = gr.Markdown(status_markdown({"state": "idle"}), elem_id="train-status")
            curves = gr.Plot(loss_figure([]), show_label=False, elem_id="train-curves")
            message = gr.Markdown(elem_id="train-message")
            with gr.Accordion("Log", open=False):
                log = gr.Code(language=None, lines=12, interactive=False, elem_id="train-log")
    timer = gr.Timer(REFRESH_S)
    seen = gr.State(None)   # what the page shows already: redraw only when something changed

    @guarded("Could not read the training status", 5, 0)
    def refresh(shown):
        state = engine.training_status()
        records = engine.training_metrics()
        key = [len(records), state.get("state"), state.get("step"), state.get("phase")]
        if key == shown:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), shown
        return status_markdown(state), loss_figure(records), state.get("log_tail", ""), gr.skip(), key

    @guarded("Could not start training", 4, 3)
    def start_run(data_value, preset_value, minutes_value, phases_value, out_value, overrides_value):
        if not phases_value:
            raise ValueError("tick at least one phase")
        run_id = engine.start_training(data_value, preset_value, ",".join(phases_value), out_value,
                                       parse_overrides(overrides_value), minutes_value or None)
        state = engine.training_status()
        return status_markdown(state), loss_figure([]), "", f"Started run `{escape(run_id)}`."

    @guarded("Could not cancel", 4, 3)
    def cancel_run():
        state = engine.cancel_training()
        return status_markdown(state), gr.skip(), state.get("log_tail", ""), "Cancelled."

    @guarded("Could not switch checkpoints", 1, 0)
    def use_run(out_value):
        state = engine.training_status()
        path = state.get("out_dir") or out_value
        info = engine.use_checkpoint(path)
        return (f"Now serving **{escape(str(info['checkpoint']))}** (phases {', '.join(info['phases_done'] or [])}); "
                "Search, Caption & Explain and Audit use it from the next request.")

    outputs = [status, curves, log, message]
    timer.tick(refresh, [seen], outputs + [seen], show_progress="hidden")
    start.click(start_run, [data, preset, minutes, phases, out, overrides], outputs)
    cancel.click(cancel_run, None, outputs)
    use.click(use_run, [out], [message])
