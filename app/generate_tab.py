"""Generate tab: text to motion with the base and the SoPo-tuned diffusion generators side by side.

The prompt's lexical vector is shown as editable word weights (the keyword-search syntax: `walk:2`, `-run`)
so a user can steer the condition word by word; both generators start from the same seed and length, play
in one synchronised figure, and each shows its reward (the lexical model's text-motion score), the separate
evaluator's score and the model-free physical checks. Downloads: .npy, .bvh, .gif and .mp4 of each.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import gradio as gr

from engine import render, render_files
from engine.errors import MotionLexError

from .feedback import bind, code, escape, guarded
from .viewer import motion_plot, pair_plot
from .wordcloud_view import term_bars

MODELS = ("base", "sopo")
LABELS = {"base": "base generator", "sopo": "SoPo-tuned"}
EXAMPLES = ["a person walks forward and waves the left hand", "someone jumps twice", "a person runs in a circle"]
NO_GENERATOR = ("This checkpoint holds no generator. Train one on top of it, e.g. "
                + code("python -m engine train --data synthetic --phases evaluator,generator,sopo "
                       "--base checkpoints/default --out runs/gen")
                + ", then start the app with " + code("--checkpoint runs/gen") + ".")
PHYSICAL = (("skating_ratio", "foot skating", "{:.0%} of contact frames slide", "share of frames where a foot "
             "touching the floor slides"),
            ("penetration_max_m", "floor penetration", "{:.3f} m deepest", "how far a joint goes below the floor"),
            ("jitter_ms2", "jitter", "{:.1f} m/s² mean jerk", "frame-to-frame acceleration changes"),
            ("bone_length_error", "bone lengths", "{:.1%} mean change", "how much bone lengths vary over time"))
_WEIGHT = re.compile(r"^(-?)([^\s:]+)(?::([0-9]*\.?[0-9]+))?$")


def parse_weights(text: str) -> list[tuple[str, float]]:
    """`walk:2 left -run` -> [("walk", 2.0), ("left", 1.0), ("run", 0.0)] for the bars (the engine checks the
    words against the vocabulary when generating)."""
    out = []
    for item in (text or "").split():
        match = _WEIGHT.match(item)
        if not match:
            raise MotionLexError(f"word weights: cannot read {item!r}; write word, word:2, word:0 or -word")
        minus, word, value = match.groups()
        out.append((word.lower(), 0.0 if minus else float(value) if value is not None else 1.0))
    return out


def weights_text(pairs) -> str:
    return " ".join(f"{w}:{v:g}" for w, v in pairs)


def steering_text(pairs) -> str:
    """Parsed weights in the engine's keyword syntax: a weight of 0 removes the word (`-word`)."""
    return " ".join(f"-{w}" if v == 0 else f"{w}:{v:g}" for w, v in pairs)


def weights_figure(pairs, title: str = "word weights of the condition (1 = the prompt's heaviest word)"):
    return term_bars(list(pairs)[:20], title, unit="weight", height=None)


def scores_markdown(result: dict) -> str:
    """Reward, evaluator score and the physical checks of one generated motion."""
    evaluator = result.get("evaluator_score")
    lines = [f"**{LABELS.get(result['model'], result['model'])}** · {result['seconds']:.1f} s "
             f"({result['length']} length) · seed {result['seed']} · {result['steps']} steps · guidance {result['guidance']:g}"
             + (" · planted feet held" if result.get("foot_lock") else ""),
             f"- **reward** {result['reward']:.3f} (the lexical model's text-motion cosine; training used it)",
             "- **evaluator** " + (f"{evaluator:.3f} (a separate retrieval model that training never saw)"
                                   if evaluator is not None else "not available: the checkpoint has no evaluator/")]
    physical = result.get("physical") or {}
    for key, name, fmt, meaning in PHYSICAL:
        if isinstance(physical.get(key), (int, float)):
            lines.append(f"- {name}: {fmt.format(physical[key])} ({meaning})")
    timings = result.get("timings") or {}
    if timings.get("total_s") is not None:
        lines.append(f"- took {timings['total_s']:.2f} s (sampling {timings.get('sampling_s', 0):.2f} s)")
    return "\n".join(lines)


# ---- handlers --------------------------------------------------------------------------------------------
@guarded("Could not read the prompt", 3, 2, clear={0: "", 1: None})
def prompt_words(engine, prompt: str):
    """-> (editable word weights text, bars, note)."""
    if not (prompt or "").strip():
        return "", None, "Type a prompt to see its words."
    pairs = engine.prompt_weights(prompt)
    return weights_text(pairs), weights_figure(pairs), (
        "The prompt's words as the generator's condition weighs them; edit a weight (`walk:2`), remove a word "
        "(`left:0` or `-left`) or add one, then **Generate** again with the same seed to see what that word does.")


@guarded("Could not read the word weights", 2, 1)
def edit_weights(weights_value: str):
    """-> (bars of the edited weights, note)."""
    pairs = parse_weights(weights_value)
    return (weights_figure(pairs) if pairs else None), ""


def _seconds(length_value) -> float | None:
    value = float(length_value or 0)
    return None if value <= 0 else value


@guarded("Generation failed", 5, 3, clear={0: None, 1: "", 2: ""})
def generate(engine, prompt: str, length_value, seed_value, steps_value, guidance_value, weights_value: str,
             prompt_default: str, foot_lock: bool = False, progress=gr.Progress()):
    """-> (synchronised figure, base scores, SoPo scores, status, results state); foot_lock holds planted feet
    (engine/motion_io/foot_lock.py)."""
    available = engine.generators()
    if not available:
        raise MotionLexError(NO_GENERATOR)
    weights = (weights_value or "").strip()
    steering = None
    if weights and weights != (prompt_default or "").strip():
        steering = steering_text(parse_weights(weights))
    seed, steps, guidance = int(seed_value or 0), int(steps_value), float(guidance_value)
    models = [m for m in MODELS if m in available] or available[:1]
    results, seconds = {}, _seconds(length_value)
    for i, model in enumerate(models):
        progress((i, len(models)), desc=f"sampling the {LABELS.get(model, model)}")
        results[model] = engine.generate(prompt, model, seconds, seed, steps, guidance, steering,
                                         foot_lock=bool(foot_lock))
        seconds = results[model]["seconds"]        # the second one gets the first one's (maybe predicted) length
    progress((len(models), len(models)), desc="drawing")
    first = results[models[0]]
    if len(models) == 2:
        figure = pair_plot(first["joints"], results[models[1]]["joints"], first["fps"],
                           (LABELS[models[0]], LABELS[models[1]]), f"“{prompt.strip()}”")
    else:
        figure = motion_plot(first["joints"], first["fps"], f"{LABELS.get(models[0], models[0])} · {prompt.strip()}")
    boxes = [scores_markdown(results[m]) if m in results else f"*no {LABELS.get(m, m)} in this checkpoint*"
             for m in MODELS]
    status = (f"Generated {first['seconds']:.1f} s for *{escape(prompt.strip())}*"
              + (f" steered by {code(steering)}" if steering else "") + ".")
    state = {m: {"joints": r["joints"], "fps": r["fps"], "prompt": r["prompt"], "seed": r["seed"]}
             for m, r in results.items()}
    return figure, boxes[0], boxes[1], status, state


@guarded("Could not prepare the downloads", 2, 1, clear={0: None})
def downloads(engine, state, progress=gr.Progress()):
    """-> (files: .npy, .bvh, .gif and .mp4 of each generated motion, and an SMPL body .mp4 when the user's
    SMPL files are set up, note)."""
    if not state:
        raise MotionLexError("generate a motion first")
    folder = Path(tempfile.mkdtemp(prefix="motionlex-generated-"))
    files, n = [], len(state)
    smpl = render_files.smpl_status()   # the user's licensed SMPL files (README, "Rendering")
    bodies = smpl["available"]
    for i, (model, item) in enumerate(state.items()):
        stem = f"{model}-seed{item['seed']}"
        progress((i, n), desc=f"writing {stem}")
        files.append(engine.save_motion(item["joints"], folder / f"{stem}.npy", item["fps"], stem))
        files.append(engine.save_motion(item["joints"], folder / f"{stem}.bvh", item["fps"], stem))
        files.append(render_files.motion_gif(item["joints"], folder / f"{stem}.gif", item["fps"], label=LABELS[model]))
        files.append(render_files.motion_mp4(item["joints"], folder / f"{stem}.mp4", item["fps"], label=LABELS[model]))
        if bodies:
            progress((i, n), desc=f"fitting an SMPL body to {stem}")
            files.append(engine.render_motion(item["joints"], folder / f"{stem}-smpl.mp4", "smpl", item["fps"],
                                              label=LABELS[model])["path"])
    return [str(f) for f in files], (f"{len(files)} files: .npy (canonical joints), .bvh (for Blender), "
                                    ".gif and .mp4 (rendered skeletons)"
                                    + (", -smpl.mp4 (the fitted SMPL body)." if bodies else
                                       f". {smpl['message']}."))


def intro(engine) -> str:
    try:
        available = engine.generators()
    except MotionLexError as err:
        return str(err)
    if not available:
        return NO_GENERATOR
    return f"Generators in this checkpoint: {', '.join(LABELS.get(g, g) for g in available)}."


def build(engine, demo: gr.Blocks):
    note = gr.Markdown("Open this tab to see which generators the checkpoint holds.", elem_id="generate-intro")
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", placeholder=EXAMPLES[0], scale=5, elem_id="generate-prompt")
        go_button = gr.Button("Generate", variant="primary", scale=1, elem_id="generate-go")
    gr.Examples([[e] for e in EXAMPLES], [prompt], label="Examples")
    with gr.Row():
        length = gr.Slider(0, 10, value=0, step=0.5, label="Length (s)", info="0 = the model predicts it",
                           elem_id="generate-length")
        seed = gr.Number(value=0, precision=0, label="Seed", elem_id="generate-seed")
        steps = gr.Slider(1, 200, value=50, step=1, label="Sampling steps", elem_id="generate-steps")
        guidance = gr.Slider(0, 10, value=2.5, step=0.1, label="Guidance", elem_id="generate-guidance")
        foot_lock = gr.Checkbox(value=False, label="Hold planted feet", elem_id="generate-foot-lock",
                                info="less foot sliding, slower travel; scores R-precision lower")
    with gr.Row():
        with gr.Column(scale=5):
            weights = gr.Textbox(label="Word weights", lines=2, elem_id="generate-weights",
                                 info="the prompt's lexical vector; edit to steer (word:2, word:0, -word)")
            weights_note = gr.Markdown(elem_id="generate-weights-note")
        with gr.Column(scale=5):
            bars = gr.Plot(show_label=False, elem_id="generate-bars")
    status = gr.Markdown(elem_id="generate-status")
    plot = gr.Plot(show_label=False, elem_id="generate-plot")
    with gr.Row():
        base_box = gr.Markdown(elem_id="generate-base")
        sopo_box = gr.Markdown(elem_id="generate-sopo")
    with gr.Row():
        files_button = gr.Button("Prepare downloads (.npy, .bvh, .gif, .mp4)", elem_id="generate-files-go")
        files_note = gr.Markdown(elem_id="generate-files-note")
    files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="generate-files")
    default_weights = gr.State("")
    results = gr.State(None)

    def words_of(prompt_value):
        text, figure, message = prompt_words(engine, prompt_value)
        return text, figure, message, text

    prompt.change(words_of, [prompt], [weights, bars, weights_note, default_weights], trigger_mode="always_last")
    weights.change(edit_weights, [weights], [bars, weights_note], trigger_mode="always_last", show_progress="hidden")
    inputs = [prompt, length, seed, steps, guidance, weights, default_weights, foot_lock]
    outputs = [plot, base_box, sopo_box, status, results]
    go_button.click(bind(generate, engine), inputs, outputs)
    prompt.submit(bind(generate, engine), inputs, outputs)
    files_button.click(bind(downloads, engine), [results], [files, files_note])
    return bind(intro, engine), [note]          # said when the tab is opened (it loads the model)
