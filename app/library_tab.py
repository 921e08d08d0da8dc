"""Library tab: browse a dataset's clips, filter by caption words and split, watch any clip, open a file, and
find the library motions most like the one shown (motion-to-motion search through the index)."""
from __future__ import annotations

import gradio as gr

from engine.errors import MotionLexError

from .feedback import HIT_HEADERS, bind, code, escape, guarded, hit_rows, upload_name
from .viewer import motion_plot

TABLE_HEADERS = ["id", "caption", "duration (s)", "split"]
SPLIT_CHOICES = ["all", "train", "val", "test"]
ROW_LIMIT = 200


def table_rows(rows: list[dict]) -> list[list]:
    return [[r["id"], r["caption"], r["duration_s"], r["split"]] for r in rows]


def clip_details(info: dict) -> str:
    captions = "\n".join(f"- {escape(c)}" for c in info["captions"]) or "- (no captions)"
    label = ", ".join(f"{k}: {_short(v)}" for k, v in (info.get("label") or {}).items() if _short(v))
    return (f"**{escape(info['id'])}** · {info['split']} · {info['frames']} frames · {info['duration_s']:.1f} s"
            + (f" · label {escape(label)}" if label else "") + f"\n\n**Captions**\n{captions}")


def _short(value) -> str:
    """A label value worth one line (scalars, lists of scalars); nested structures are left out."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, int, float)) for v in value):
        return " + ".join(map(str, value))
    return ""


def upload_report(motion, mapping_used: bool) -> str:
    meta = motion.meta
    mapped = meta.get("mapped_joints") or {}
    interpolated = [c for c, rig in mapped.items() if rig == "interpolated"]
    direct = [f"{c} ← {escape(str(rig))}" for c, rig in mapped.items() if rig != "interpolated"]
    lines = [f"**{escape(motion.name)}** · {meta.get('format', '?')} · {motion.frames} frames at {motion.fps:g} fps "
             f"· {motion.duration_s:.1f} s · height {motion.height_m:.2f} m"]
    if "source_fps" in meta:
        lines.append(f"Source: {meta.get('source_frames', '?')} frames at {meta['source_fps']:g} fps, resampled to 20 fps.")
    if "layout" in meta:
        lines.append(f"Array layout: {meta['layout']}.")
    if mapped:
        lines.append(f"**Mapped joints** ({len(direct)} of {len(mapped)} direct"
                     f"{', a user mapping file applied' if mapping_used else ''}): " + ", ".join(direct))
        if interpolated:
            lines.append(f"Interpolated (no matching rig joint): {', '.join(interpolated)}.")
    return "\n\n".join(lines)


# ---- handlers: plain functions of plain values and the engine (the Gradio wiring below is thin) ----------
@guarded("Could not list the dataset", 2, 1, clear={0: []})
def list_clips(engine, spec_value: str, query_value: str = "", split_value: str = "all"):
    """-> (table rows, status line)."""
    rows = engine.library(spec_value, query_value or "", split_value, limit=ROW_LIMIT + 1)
    total = len(engine.dataset(spec_value))
    more = len(rows) > ROW_LIMIT
    rows = rows[:ROW_LIMIT]
    filtered = bool((query_value or "").strip()) or split_value not in (None, "all")
    note = f"{len(rows)}{'+' if more else ''} {'matching ' if filtered else ''}clips shown · {total} in the dataset"
    if more:
        note += f" (first {ROW_LIMIT}; narrow the filter to see others)"
    if not rows:
        note = f"No clip matches · {total} in the dataset"
    return table_rows(rows), note


@guarded("Could not show the clip", 2, 1)
def show_clip(engine, spec_value: str, clip_id: str):
    """-> (viewer figure, details markdown)."""
    if not clip_id:
        raise MotionLexError("pick a clip in the table")
    motion = engine.clip(spec_value, clip_id)
    info = engine.clip_info(spec_value, clip_id)
    return motion_plot(motion.joints, motion.fps, f"{clip_id} · {info['caption']}"), clip_details(info)


@guarded("Could not open the file", 3, 1, clear={0: None, 2: ""})
def open_file(engine, motion_path, mapping_path=None):
    """-> (viewer figure, upload report, details line). Errors name the user's file, once."""
    if not motion_path:
        return gr.skip(), "", gr.skip()
    motion = engine.load_file(motion_path, mapping_path or None)
    name = upload_name(motion_path)
    return (motion_plot(motion.joints, motion.fps, f"file · {name}"), upload_report(motion, bool(mapping_path)),
            f"Showing the file **{escape(name)}** (details under the upload box).")


@guarded("Could not find similar motions", 3, 1, clear={0: [], 2: []})
def similar_to_shown(engine, spec_value: str, shown: dict | None, k: int = 8):
    """-> (table rows, note, hits): the motions of the library `spec_value` nearest to what the viewer shows,
    a library clip ({"spec", "clip"}, itself left out) or an opened file ({"file", "mapping"})."""
    if not shown:
        raise MotionLexError("select a clip in the table or open a file first")
    if shown.get("file"):
        motion, title = engine.load_file(shown["file"], shown.get("mapping")), f"the file {upload_name(shown['file'])}"
    else:
        motion, title = engine.clip(shown["spec"], shown["clip"]), shown["clip"]
    found = engine.similar_motions(motion, spec_value, k)
    hits = found["hits"]
    note = (f"{len(hits)} motions of {code(found['library'])} nearest to {escape(title)} (cosine of the lexical "
            "vectors through the motion index; click one to watch it)."
            if hits else f"No motion of {code(found['library'])} shares a word with {escape(title)}.")
    return hit_rows(hits), note, hits


def selected_id(evt) -> str:
    """The clip id of a table selection (first column of the clicked row)."""
    row = getattr(evt, "row_value", None) or [None]
    return str(row[0]) if row[0] is not None else ""


def build(engine, demo: gr.Blocks) -> None:
    with gr.Row():
        spec = gr.Dropdown(engine.datasets(), value=engine.datasets()[0], allow_custom_value=True,
                           label="Dataset", info="a spec: synthetic, bandai:/archive, bvh:/folder …",
                           scale=3, elem_id="library-spec")
        split = gr.Dropdown(SPLIT_CHOICES, value="all", label="Split", scale=1, elem_id="library-split")
        query = gr.Textbox(label="Filter", placeholder="caption words, e.g. walk left", scale=3,
                           elem_id="library-filter")
    status = gr.Markdown(elem_id="library-status")
    table = gr.Dataframe(headers=TABLE_HEADERS, datatype=["str", "str", "number", "str"],
                         interactive=False, wrap=True, max_height=330, column_widths=["22%", "58%", "10%", "10%"],
                         elem_id="library-table")
    with gr.Row():
        with gr.Column(scale=7):
            plot = gr.Plot(label="Skeleton", show_label=False, elem_id="library-plot")
        with gr.Column(scale=3):
            details = gr.Markdown("Select a clip in the table to watch it.", elem_id="library-details")
            with gr.Accordion("Open a motion file (.bvh or .npy)", open=True):
                motion_file = gr.File(label="Motion file", file_types=[".bvh", ".npy"], elem_id="library-upload")
                mapping_file = gr.File(label="Joint mapping JSON (optional, BVH only)", file_types=[".json"],
                                       elem_id="library-mapping")
                upload_status = gr.Markdown(elem_id="library-upload-status")
    with gr.Row():
        similar_button = gr.Button("Find similar motions", elem_id="library-similar-go", scale=1)
        similar_note = gr.Markdown(elem_id="library-similar-note")
    similar = gr.Dataframe(headers=HIT_HEADERS, datatype=["number", "str", "number", "str", "str"],
                           interactive=False, wrap=True, column_widths=["6%", "18%", "8%", "42%", "26%"],
                           elem_id="library-similar")
    shown = gr.State(None)        # what the viewer shows: {"spec", "clip"} or {"file", "mapping"}
    similar_hits = gr.State([])

    def on_select(spec_value, evt: gr.SelectData):
        clip_id = selected_id(evt)
        return (*show_clip(engine, spec_value, clip_id), {"spec": spec_value, "clip": clip_id})

    def on_similar_select(spec_value, hits, evt: gr.SelectData):
        rank = int((getattr(evt, "row_value", None) or [0])[0] or 0)
        if not hits or not 1 <= rank <= len(hits):
            return gr.skip(), gr.skip(), gr.skip()
        clip_id = hits[rank - 1]["id"]
        return (*show_clip(engine, spec_value, clip_id), {"spec": spec_value, "clip": clip_id})

    def on_upload(motion_path, mapping_path):
        return (*open_file(engine, motion_path, mapping_path),
                {"file": motion_path, "mapping": mapping_path} if motion_path else gr.skip())

    refresh = bind(list_clips, engine)
    filters = [spec, query, split]
    demo.load(refresh, filters, [table, status])
    spec.change(refresh, filters, [table, status])
    split.change(refresh, filters, [table, status])
    query.change(refresh, filters, [table, status], trigger_mode="always_last")
    table.select(on_select, [spec], [plot, details, shown])
    motion_file.upload(on_upload, [motion_file, mapping_file], [plot, upload_status, details, shown])
    mapping_file.upload(on_upload, [motion_file, mapping_file], [plot, upload_status, details, shown])
    similar_button.click(bind(similar_to_shown, engine), [spec, shown], [similar, similar_note, similar_hits])
    similar.select(on_similar_select, [spec, similar_hits], [plot, details, shown])
