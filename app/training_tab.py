"""Training tab: start `engine train` in the background and tell the truth about it.

Everything shown comes from the run's own records (engine.Engine.run_status): the process while this server
runs it, metrics.jsonl, the phase checkpoints, the final manifest.json and the CLI's summary in train.log; so
a page reload, or a server restart, shows the same run in the same state. "Use this checkpoint" is enabled
only when the run left a loadable final model, Cancel only while a run is going, Resume only for a stopped
run with a checkpoint to continue from; a budget too short for the first phase is refused before the start.
"""
from __future__ import annotations

import math

import gradio as gr
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.config import ALL_PHASES, DEFAULT_PHASES
from engine.errors import MotionLexError

from .feedback import bind, code, escape, guarded

PHASES = list(ALL_PHASES)   # the engine's phase names: a phase added there shows up here
PRESETS = ["tiny", "paper"]
# Keeps the log's newest line in view after every update (runs in the browser).
FOLLOW_LOG = "() => { const t = document.querySelector('#train-log textarea'); if (t) t.scrollTop = t.scrollHeight; }"
# Logged values that are not loss terms: bookkeeping, schedules, shares and rewards.
NOT_LOSSES = {"step", "phase", "lr", "time", "seconds", "seconds_per_step", "dec_mask", "warning", "total_steps",
              "beta_w", "delta_w", "delta_l", "epoch", "items", "temperature"}
STATE_LABELS = {"finished": "done", "idle": "none"}
REFRESH_S = 2.0
PALETTE = ("#1f6fd1", "#e8710a", "#27ae60", "#c0392b", "#8e44ad", "#16a085", "#7f8c8d", "#d4ac0d")
RUN_HEADERS = ["run", "state", "phases done", "last step", "final model", "eval"]


def parse_overrides(text: str) -> list[str]:
    """One `key=value` per line or separated by spaces ('--set' prefixes are tolerated)."""
    items = (text or "").replace("--set", " ").split()
    return [item for item in items if item.strip()]


def is_loss(key: str, value) -> bool:
    if key in NOT_LOSSES or not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return not (key.endswith(("_share", "_weight")) or key.startswith("reward"))


def _empty(text: str, height: int = 300) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(height=height, paper_bgcolor="white", plot_bgcolor="white",
                      annotations=[dict(text=text, showarrow=False, font=dict(size=15))],
                      xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def loss_figure(records: list[dict]) -> go.Figure:
    """One panel per phase (in the order trained), one line per logged loss term (never the clock, the
    learning rate or the mask ratio); a log y axis unless a panel holds a value <= 0."""
    phases = list(dict.fromkeys(r["phase"] for r in records))
    if not phases:
        return _empty("no metrics logged yet")
    fig = make_subplots(rows=1, cols=len(phases), subplot_titles=phases, horizontal_spacing=0.06)
    colours: dict[str, str] = {}   # one colour per term across panels, listed once in the legend
    for col, phase in enumerate(phases, start=1):
        rows = [r for r in records if r["phase"] == phase]
        terms = list(dict.fromkeys(k for r in rows for k, v in r.items() if is_loss(k, v)))
        positive = all(r[t] > 0 for r in rows for t in terms if isinstance(r.get(t), (int, float)))
        for term in terms:
            first_time = term not in colours
            colour = colours.setdefault(term, PALETTE[len(colours) % len(PALETTE)])
            points = [(r["step"], r[term]) for r in rows
                      if isinstance(r.get(term), (int, float)) and math.isfinite(r[term])]
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=term,
                                     mode="lines+markers", line=dict(color=colour, width=2.5 if term == "loss" else 1.5),
                                     marker=dict(size=5), legendgroup=term, showlegend=first_time,
                                     hovertemplate=f"{phase} %{{x}}: {term} = %{{y:.4g}}<extra></extra>"),
                          row=1, col=col)
        fig.update_xaxes(title_text="step", gridcolor="#eee", row=1, col=col)
        fig.update_yaxes(type="log" if positive else "linear", gridcolor="#eee", row=1, col=col)
    fig.update_layout(height=400, margin=dict(l=50, r=20, t=60, b=45), paper_bgcolor="white", plot_bgcolor="white",
                      title=dict(text="Loss terms per phase", x=0.01, xanchor="left", font=dict(size=15)),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def pace_figure(records: list[dict]) -> go.Figure:
    """Learning rates and seconds per step over the logged steps of all phases, apart from the losses."""
    if not records:
        return _empty("no steps logged yet", 260)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("learning rate", "seconds per step"), horizontal_spacing=0.12)
    x = list(range(1, len(records) + 1))
    text = [f"{r['phase']} step {r['step']}" for r in records]
    groups = list(dict.fromkeys(g for r in records if isinstance(r.get("lr"), dict) for g in r["lr"]))
    for i, group in enumerate(groups):
        fig.add_trace(go.Scatter(x=x, y=[(r.get("lr") or {}).get(group) for r in records], name=f"lr {group}",
                                 text=text, mode="lines", line=dict(color=PALETTE[i % len(PALETTE)]),
                                 hovertemplate="%{text}: %{y:.3g}<extra>" + group + "</extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r.get("seconds_per_step") for r in records], name="s / step", text=text,
                             mode="lines+markers", marker=dict(size=4), line=dict(color="#7f8c8d"),
                             hovertemplate="%{text}: %{y:.3f} s<extra></extra>"), row=1, col=2)
    fig.update_xaxes(title_text="logged step (all phases in order)", gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee", rangemode="tozero")
    fig.update_layout(height=280, margin=dict(l=60, r=20, t=45, b=45), paper_bgcolor="white", plot_bgcolor="white",
                      legend=dict(orientation="h", y=-0.35))
    return fig


def _duration(seconds) -> str:
    if seconds is None:
        return "?"
    seconds = float(seconds)
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def status_markdown(status: dict) -> str:
    """The run's state, phase, step / total, elapsed wall time and time left, told once."""
    state = STATE_LABELS.get(status.get("state", "none"), status.get("state", "none"))
    if state == "none":
        return "No training run yet. Choose the data and phases, then **Start**."
    parts = [f"**{status.get('label') or state}**"]
    phases = status.get("phases") or []
    if status.get("phase"):
        total = f"/{status['total_steps']}" if status.get("total_steps") else ""
        where = f" ({phases.index(status['phase']) + 1} of {len(phases)})" if status["phase"] in phases else ""
        parts.append(f"phase **{status['phase']}**{where} step {status.get('step')}{total}")
    last = status.get("last_metrics") or {}
    if isinstance(last.get("loss"), (int, float)):
        parts.append(f"last loss {last['loss']:.4g}")
    elapsed = status.get("elapsed_s", status.get("seconds"))
    if elapsed is not None:
        parts.append(f"{_duration(elapsed)} elapsed")
    if status.get("left_s") is not None:
        parts.append(f"about {_duration(status['left_s'])} left")
    if status.get("budget_left_s") is not None:
        parts.append(f"budget ends in {_duration(status['budget_left_s'])}")
    if status.get("exit_code") not in (None, 0) and "exit code" not in parts[0]:
        parts.append(f"exit code {status['exit_code']} (see the log)")
    lines = [" · ".join(parts)]
    if status.get("phases_done"):
        lines.append(f"Phases done: {', '.join(status['phases_done'])}.")
    if status.get("state") in ("stopped", "cancelled", "incomplete") and not status.get("usable"):
        lines.append("No final model was written, so there is no checkpoint to use"
                     + ("; **Resume** continues from the last phase checkpoint." if status.get("resumable") else "."))
    if status.get("out_dir"):
        lines.append(f"Run folder: {code(status['out_dir'])}")
    return "\n\n".join(lines)


def buttons(status: dict, anything_running: bool):
    """(start, cancel, resume, use) interactivity from the truth."""
    return (gr.update(interactive=not anything_running), gr.update(interactive=bool(status.get("running"))),
            gr.update(interactive=bool(status.get("resumable")) and not anything_running),
            gr.update(interactive=bool(status.get("usable"))))


def run_rows(runs: list[dict]) -> list[list]:
    rows = []
    for r in runs:
        step = f"{r['phase']} {r['step']}/{r['total_steps']}" if r.get("phase") else ""
        headline = ", ".join(f"{k} {v}" for k, v in r["eval"][:3]) if r.get("eval") else "no eval.json"
        rows.append([r["run"], r["state"], ", ".join(r["phases_done"]) or "-", step, "yes" if r["usable"] else "no",
                     headline])
    return rows


# ---- handlers --------------------------------------------------------------------------------------------
def _running(engine) -> bool:
    status = engine.run_status()
    return bool(status.get("running") and status.get("current"))


@guarded("Could not read the training status", 10, 0)
def refresh(engine, viewed: str | None, shown):
    """-> (status, loss curves, pace figure, log, start, cancel, resume, use, runs table, shown key). Figures and
    the runs table are redrawn only when the records changed; the status (elapsed time) every tick."""
    status = engine.run_status(viewed or None)
    records = engine.run_details(status["out_dir"])["records"] if status.get("out_dir") else []
    if records:
        status["last_metrics"] = records[-1]
    runs = engine.training_runs()
    key = [status.get("out_dir"), len(records), status["state"], len(runs), [r["state"] for r in runs]]
    changed = key != shown
    figures = (loss_figure(records), pace_figure(records)) if changed else (gr.skip(), gr.skip())
    table = run_rows(runs) if changed else gr.skip()
    return (status_markdown(status), *figures, status.get("log", ""), *buttons(status, _running(engine)), table, key)


@guarded("Could not check the plan", 1, 0)
def plan(engine, data_value, preset_value, minutes_value, phases_value, overrides_value):
    """-> the run's estimated length before it starts (and whether the budget covers it)."""
    if not phases_value or not (data_value or "").strip():
        return ""
    found = engine.training_plan(data_value, preset_value, ",".join(phases_value), parse_overrides(overrides_value),
                                 minutes_value or None)
    steps = ", ".join(f"{r['phase']} {r['steps']}" for r in found["phases"])
    text = f"Plan: {steps} steps · about {_duration(found['total_s'])} with {_duration(found['startup_s'])} start-up."
    if found["message"]:
        text += f" ⚠️ {escape(found['message'])}."
    return text


@guarded("Could not start training", 2, 1)
def start(engine, data_value, preset_value, minutes_value, phases_value, out_value, overrides_value):
    """-> (viewed run folder, message)."""
    if not phases_value:
        raise MotionLexError("tick at least one phase")
    started = engine.start_run(data_value, preset_value, ",".join(phases_value), out_value,
                               parse_overrides(overrides_value), minutes_value or None)
    note = started["plan"]["message"]
    return started["out_dir"], f"Started {code(started['run'])}." + (f" ⚠️ {escape(note)}." if note else "")


@guarded("Could not cancel", 1, 0)
def cancel(engine):
    return escape(engine.cancel_run()["message"].capitalize() + ".")


@guarded("Could not resume", 2, 1)
def resume(engine, viewed, minutes_value):
    status = engine.run_status(viewed or None)
    if not status.get("out_dir"):
        raise MotionLexError("no run to resume")
    resumed = engine.resume_run(status["out_dir"], minutes_value or None)
    return resumed["out_dir"], f"Resumed {code(resumed['run'])} from its last checkpoint."


@guarded("Could not switch checkpoints", 1, 0)
def use(engine, viewed):
    status = engine.run_status(viewed or None)
    if not status.get("usable"):
        raise MotionLexError(f"the run {status.get('run') or ''} left no final model to serve ({status['label']})")
    info = engine.use_checkpoint(status["out_dir"])
    return (f"Now serving {code(info['checkpoint'])} (phases {', '.join(info['phases_done'] or [])}); Search, "
            "Caption & Explain, Attention, Audit and Feature health use it from the next request.")


@guarded("Could not show the run", 2, 1)
def view_run(engine, runs_table_row):
    """A click in the runs table -> (viewed run folder, its eval table as markdown)."""
    name = str((runs_table_row or [""])[0])
    found = [r for r in engine.training_runs() if r["run"] == name]
    if not found:
        raise MotionLexError(f"no run {name!r}")
    run = found[0]
    rows = run["eval"]
    table = ("\n".join(["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])
             if rows else f"No eval.json in {code(run['out_dir'])}: evaluate it with "
             + code(f"python -m engine eval --checkpoint {run['out_dir']} --json > {run['out_dir']}/eval.json"))
    return run["out_dir"], f"**{escape(run['run'])}** · {escape(run['label'])}\n\n{table}"


def build(engine, demo: gr.Blocks) -> None:
    with gr.Row():
        with gr.Column(scale=4):
            data = gr.Textbox(value=engine.datasets()[0], label="Dataset spec(s)",
                              info="comma-separated specs train on several datasets at once", elem_id="train-data")
            with gr.Row():
                preset = gr.Dropdown(PRESETS, value="tiny", label="Preset", info="tiny: CPU minutes; paper: GPU",
                                     elem_id="train-preset")
                minutes = gr.Number(value=None, label="Max minutes", info="0 or empty: no limit", minimum=0,
                                    elem_id="train-minutes")
            phases = gr.CheckboxGroup(PHASES, value=list(DEFAULT_PHASES), label="Phases", elem_id="train-phases")
            out = gr.Textbox(label="Output folder", placeholder=f"{engine.runs_root()}/<date-time>",
                             info="relative paths are inside the repository", elem_id="train-out")
            overrides = gr.Textbox(label="Config overrides (--set)", lines=3,
                                   placeholder="train.lexcmlp.steps=100\nmodel.motion_depth=2", elem_id="train-set")
            plan_note = gr.Markdown(elem_id="train-plan")
            with gr.Row():
                start_button = gr.Button("Start", variant="primary", elem_id="train-start")
                cancel_button = gr.Button("Cancel", variant="stop", interactive=False, elem_id="train-cancel")
                resume_button = gr.Button("Resume", interactive=False, elem_id="train-resume")
                use_button = gr.Button("Use this checkpoint", interactive=False, elem_id="train-use")
            message = gr.Markdown(elem_id="train-message")
        with gr.Column(scale=6):
            status = gr.Markdown(status_markdown({"state": "none"}), elem_id="train-status")
            curves = gr.Plot(loss_figure([]), show_label=False, elem_id="train-curves")
            pace = gr.Plot(pace_figure([]), show_label=False, elem_id="train-pace")
            with gr.Accordion("Log (train.log)", open=True):
                log = gr.Textbox(show_label=False, lines=12, max_lines=12, autoscroll=True, interactive=False,
                                 elem_id="train-log")
    gr.Markdown("**Runs** (click one to follow it and see its eval table)")
    runs = gr.Dataframe(headers=RUN_HEADERS, datatype=["str"] * 6, interactive=False, wrap=True,
                        column_widths=["20%", "12%", "26%", "14%", "10%", "18%"], elem_id="train-runs")
    run_eval = gr.Markdown(elem_id="train-run-eval")
    timer = gr.Timer(REFRESH_S)
    viewed = gr.State(None)   # the run folder the page follows (None: the current or latest run)
    shown = gr.State(None)    # what the page shows already: figures are redrawn only when that changed

    outputs = [status, curves, pace, log, start_button, cancel_button, resume_button, use_button, runs, shown]
    tick = bind(refresh, engine)
    demo.load(tick, [viewed, shown], outputs)
    timer.tick(tick, [viewed, shown], outputs, show_progress="hidden")
    plan_inputs = [data, preset, minutes, phases, overrides]
    for control in plan_inputs:
        control.change(bind(plan, engine), plan_inputs, [plan_note], trigger_mode="always_last", show_progress="hidden")
    start_button.click(bind(start, engine), [data, preset, minutes, phases, out, overrides], [viewed, message]) \
        .then(tick, [viewed, shown], outputs)
    cancel_button.click(bind(cancel, engine), None, [message]).then(tick, [viewed, shown], outputs)
    resume_button.click(bind(resume, engine), [viewed, minutes], [viewed, message]).then(tick, [viewed, shown], outputs)
    use_button.click(bind(use, engine), [viewed], [message])
    log.change(None, None, None, js=FOLLOW_LOG)   # Textbox autoscroll misses updates made while in a tab

    def on_run(evt: gr.SelectData):
        return view_run(engine, getattr(evt, "row_value", None))

    runs.select(on_run, None, [viewed, run_eval]).then(lambda: None, None, [shown]).then(tick, [viewed, shown], outputs)
