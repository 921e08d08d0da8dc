"""Attention tab (the lexical seed's Fig. 3 / Fig. 7): where in the body and when the motion encoder looks.

For a library clip or an uploaded file: a joints x time heatmap with one row per joint (22), painted on
rendered skeleton key frames and on the animated skeleton; either for a PCA component of the encoder's
features or for one word of the motion's lexical vector (which joints and frames made that word fire).
The model's tokens may be body parts (the `tiny` preset: 7), so the per-joint map is gradient x input on
the encoder's per-joint inputs (engine/inference/attention.py); the page says so under the map.
"""
from __future__ import annotations

import gradio as gr

from engine import render, render_files
from engine.errors import MotionLexError

from .feedback import bind, escape, guarded, upload_name
from .heatmap_view import joint_time_heatmap
from .viewer import motion_plot

CLIP_CHOICES = 300
KINDS = ["PCA component", "word"]
COMPONENTS = ["1", "2", "3"]
KEY_FRAMES = 6


def motion_state(motion, title: str, words: list) -> dict:
    return {"motion": motion, "title": title, "words": [w for w, _ in words]}


@guarded("Could not list the clips", 2, 1)
def list_clips(engine, spec_value: str):
    """-> (clip dropdown update, status)."""
    rows = engine.library(spec_value, limit=CLIP_CHOICES)
    choices = [(f"{r['id']} · {r['caption'][:60]}", r["id"]) for r in rows]
    return gr.update(choices=choices, value=choices[0][1] if choices else None), ""


@guarded("Could not open the clip", 3, 1, clear={0: None})
def choose_clip(engine, spec_value: str, clip_id: str):
    """-> (motion state, status, word dropdown update)."""
    if not clip_id:
        raise MotionLexError("pick a clip first")
    motion = engine.clip(spec_value, clip_id)
    words = engine.motion_words(motion)
    info = engine.clip_info(spec_value, clip_id)
    return (motion_state(motion, f"clip {clip_id}", words), f"**{escape(clip_id)}** · *{escape(info['caption'])}*",
            _word_choices(words))


@guarded("Could not open the file", 3, 1, clear={0: None})
def choose_file(engine, path):
    """-> (motion state, status, word dropdown update); a bad file is named in the message, once."""
    if not path:
        return gr.skip(), gr.skip(), gr.skip()
    motion = engine.load_file(path)
    words = engine.motion_words(motion)
    name = upload_name(path)
    return (motion_state(motion, f"file {name}", words), f"file **{escape(name)}** · {motion.duration_s:.1f} s",
            _word_choices(words))


def _word_choices(words):
    names = [w for w, _ in words]
    return gr.update(choices=names, value=names[0] if names else None)


@guarded("Could not compute the attention map", 4, 3, clear={0: None, 1: None, 2: None})
def attend(engine, state, kind: str, component: str, word: str):
    """-> (joints x time heatmap, key-frame strip image, heat-coloured animation, summary markdown)."""
    if not state:
        return gr.skip(), gr.skip(), gr.skip(), "Pick a clip or upload a file."
    motion = state["motion"]
    if kind == "word":
        if not word:
            raise MotionLexError("choose a word of the motion (or type one)")
        result = engine.attention(motion, "word", word=word)
        what = f"word “{result['word']}”"
    else:
        result = engine.attention(motion, "pca", component=int(component or 1))
        what = f"PCA component {result['component']} ({100 * result.get('explained', 0):.0f}% of the feature variance)"
    heat = result["map"]
    heatmap = joint_time_heatmap(heat, motion.fps, f"{state['title']} · {what}", "share of the map's max",
                                 "per joint: |gradient x input| (how: under the key frames)")
    strip, times = render_files.key_frame_strip(motion.joints, motion.fps, heat, KEY_FRAMES)
    skeleton = motion_plot(motion.joints, motion.fps, f"{state['title']} · {what}", joint_intensity=heat)
    joints = ", ".join(f"{name} {100 * share:.0f}%" for name, share in result["summary"]["joints"])
    start, end = result["summary"]["peak_s"]
    summary = (f"**{escape(what)}** is driven most by **{joints}** (shares of the whole map); the strongest second "
               f"is {start:.1f}–{end:.1f} s. Key frames at {', '.join(f'{t:.1f}' for t in times)} s.\n\n"
               f"*How it is computed:* {escape(result['method'])}. The model's tokens are body parts, so the "
               "features alone cannot separate the joints of one part; the encoder's inputs are per joint.")
    return heatmap, strip, skeleton, summary


def build(engine, demo: gr.Blocks) -> None:
    first = engine.datasets()[0]
    with gr.Row():
        spec = gr.Dropdown(engine.datasets(), value=first, allow_custom_value=True, label="Library", scale=3,
                           elem_id="attention-spec")
        clip = gr.Dropdown([], label="Clip", allow_custom_value=True, scale=4, elem_id="attention-clip")
        upload = gr.File(label="…or a motion file (.bvh, .npy)", file_types=[".bvh", ".npy"], height=130, scale=3,
                         elem_id="attention-upload")
    status = gr.Markdown(elem_id="attention-status")
    with gr.Row():
        kind = gr.Radio(KINDS, value=KINDS[0], label="Explain", scale=2, elem_id="attention-kind")
        component = gr.Radio(COMPONENTS, value="1", label="PCA component", scale=2, elem_id="attention-component")
        word = gr.Dropdown([], label="Word (of the motion's vector, or type one)", allow_custom_value=True, scale=3,
                           elem_id="attention-word")
        go_button = gr.Button("Show this clip", variant="primary", scale=1, elem_id="attention-go")
    summary = gr.Markdown(elem_id="attention-summary")
    strip = gr.Image(label="Key frames, joints painted by the map (pale = low, dark red and large = high)",
                     type="numpy", interactive=False, height=250, elem_id="attention-strip")
    with gr.Row():
        with gr.Column(scale=5):
            heatmap = gr.Plot(show_label=False, elem_id="attention-heatmap")
        with gr.Column(scale=5):
            skeleton = gr.Plot(show_label=False, elem_id="attention-plot")
    state = gr.State(None)

    show = bind(attend, engine)
    views = [heatmap, strip, skeleton, summary]
    controls = [state, kind, component, word]
    demo.load(bind(list_clips, engine), [spec], [clip, status])
    spec.change(bind(list_clips, engine), [spec], [clip, status])
    clip.input(bind(choose_clip, engine), [spec, clip], [state, status, word]).then(show, controls, views)
    upload.upload(bind(choose_file, engine), [upload], [state, status, word]).then(show, controls, views)
    go_button.click(bind(choose_clip, engine), [spec, clip], [state, status, word]).then(show, controls, views)
    kind.change(show, controls, views)
    component.change(show, controls, views)
    word.input(show, controls, views)
