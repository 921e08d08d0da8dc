"""Feature health tab: LER and MOM of the motion encoder's features, layer by layer, for the served
checkpoint; and the same measures over the steps of any training run that logged them in metrics.jsonl."""
from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .feedback import bind, code, escape, guarded

TABLE_HEADERS = ["layer", "LER", "MOM (mean, as eval)", "MOM (median)", "channels", "matrices"]


def _fmt(value, digits: int = 3):
    return None if value is None else round(float(value), digits)


def _mom(value):
    """The mean MOM, readable when it explodes (1e12 is not a dimension)."""
    if value is None:
        return None
    return f"{value:.3g}" if abs(value) >= 1000 else round(float(value), 3)


def layers_figure(report: dict) -> go.Figure:
    """LER and MOM per layer, two panels (their scales differ)."""
    names = [r["layer"] for r in report["layers"]]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("LER per layer", "MOM per layer (median over joints)"),
                        horizontal_spacing=0.12)
    for col, (key, colour) in enumerate((("LER", "#1f6fd1"), ("MOM_median", "#e8710a")), start=1):
        values = [r[key] for r in report["layers"]]
        fig.add_trace(go.Scatter(x=names, y=values, mode="lines+markers", name=key, line=dict(color=colour, width=2),
                                 hovertemplate=f"%{{x}}: {key} = %{{y:.3g}}<extra></extra>"), row=1, col=col)
        fig.update_yaxes(title_text=key.replace("_median", ""), gridcolor="#eee", rangemode="tozero", row=1, col=col)
    fig.update_layout(height=360, margin=dict(l=60, r=20, t=50, b=80), paper_bgcolor="white", plot_bgcolor="white",
                      showlegend=False)
    return fig


@guarded("Could not measure the feature health", 3, 2, clear={0: [], 1: None})
def measure(engine, spec_value: str, clips_value=64):
    """-> (table rows per layer, figure, explanation markdown)."""
    report = engine.feature_health(spec_value, int(clips_value or 64))
    rows = [[r["layer"], _fmt(r["LER"]), _mom(r["MOM"]), _fmt(r.get("MOM_median")), r["channels"], r["matrices"]]
            for r in report["layers"]]
    out = report["layers"][-1]
    lines = [f"Over **{report['motions']}** clips of {code(report['library'])} ({report['split']} split), checkpoint "
             f"{code(report['checkpoint'])}: the output layer has **LER {out['LER']:.2f}** and **MOM {out['MOM']:.2f}**."
             if out["LER"] is not None and out["MOM"] is not None else "No estimate (the clips are too short).",
             f"**What low values mean.** {escape(report['meaning'])}",
             "MOM as `engine eval` reports it is a mean over joints, which explodes when a joint's features barely "
             "move over time (its farthest moment is hardly farther than the average one); the median column and "
             "the plot show what most joints have."]
    if report.get("eval"):
        lines.append("The checkpoint's eval.json (on its own test clips): " + ", ".join(
            f"{k} {v:.2f}" for k, v in report["eval"].items() if isinstance(v, (int, float))) + ".")
    return rows, layers_figure(report), "\n\n".join(lines)


def runs_choices(engine) -> list:
    runs = engine.training_runs()
    return [(f"{r['run']} · {r['label']}", r["out_dir"]) for r in runs]


@guarded("Could not list the runs", 2, 1)
def list_runs(engine):
    choices = runs_choices(engine)
    return gr.update(choices=choices, value=choices[0][1] if choices else None), (
        "" if choices else f"No training run under {code(engine.runs_root())} yet.")


def run_figure(series: dict) -> go.Figure:
    fig = go.Figure()
    for name, points in series.items():
        fig.add_trace(go.Scatter(x=list(range(1, len(points) + 1)), y=[p[2] for p in points], mode="lines+markers",
                                 name=name, text=[f"{p[0]} step {p[1]}" for p in points],
                                 hovertemplate="%{text}: %{y:.3g}<extra>" + name + "</extra>"))
    fig.update_layout(height=320, margin=dict(l=60, r=20, t=40, b=50), paper_bgcolor="white", plot_bgcolor="white",
                      xaxis=dict(title="logged step (all phases in order)"), yaxis=dict(gridcolor="#eee"),
                      title=dict(text="Feature health logged during training", x=0.01, font=dict(size=15)),
                      legend=dict(orientation="h", y=-0.25))
    return fig


HIDDEN = {"value": None, "visible": False, "__type__": "update"}


@guarded("Could not read the run", 2, 1, clear={0: HIDDEN})
def run_health(engine, run_dir: str):
    """-> (figure of the logged LER / MOM (hidden when there is none), note)."""
    if not run_dir:
        return gr.update(value=None, visible=False), ""
    found = engine.run_feature_health(run_dir)
    if not found["series"]:
        return gr.update(value=None, visible=False), (
            f"The run {code(found['run'])} logged no feature-health values. Runs with the 1/LER regulariser log it "
            f"at every step: {code('--set train.inverse_ler=0.01')}.")
    return (gr.update(value=run_figure(found["series"]), visible=True),
            f"From {code(found['run'])}/metrics.jsonl: {', '.join(found['series'])}.")


def build(engine, demo: gr.Blocks) -> None:
    gr.Markdown("**Feature health** of the served motion encoder: LER and MOM of each layer's per-joint features "
                "(LoDE's dimension-collapse diagnostics).", elem_classes="ml-hint")
    with gr.Row():
        spec = gr.Dropdown(engine.datasets(), value=engine.datasets()[0], allow_custom_value=True, label="Library",
                           scale=4, elem_id="health-spec")
        clips = gr.Slider(8, 256, value=64, step=8, label="Clips", scale=2, elem_id="health-clips")
        go_button = gr.Button("Measure", variant="primary", scale=1, elem_id="health-go")
    note = gr.Markdown(elem_id="health-note")
    table = gr.Dataframe(headers=TABLE_HEADERS, datatype=["str", "number", "str", "number", "number", "number"],
                         interactive=False, column_widths=["24%", "14%", "20%", "16%", "13%", "13%"],
                         elem_id="health-table")
    plot = gr.Plot(show_label=False, elem_id="health-plot")
    gr.Markdown("**During training**: the values a run logged in its metrics.jsonl.")
    with gr.Row():
        run = gr.Dropdown([], label="Run", scale=5, elem_id="health-run")
        refresh = gr.Button("Refresh the list", scale=1, elem_id="health-refresh")
    run_note = gr.Markdown(elem_id="health-run-note")
    run_plot = gr.Plot(show_label=False, visible=False, elem_id="health-run-plot")

    go_button.click(bind(measure, engine), [spec, clips], [table, plot, note])
    demo.load(bind(list_runs, engine), None, [run, run_note])
    refresh.click(bind(list_runs, engine), None, [run, run_note])
    run.change(bind(run_health, engine), [run], [run_plot, run_note])
