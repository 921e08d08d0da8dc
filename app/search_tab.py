"""Search tab: free-text or keyword queries over a library: a grid of small animated previews of the hits
(rendered GIFs with the caption, the score and the bars of the words that explain it), a click opens the 3D
viewer; the full ranking as a table below. Every new query clears the previous results first."""
from __future__ import annotations

import hashlib
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import gradio as gr
import numpy as np

from engine import render, render_files

from .feedback import HIT_HEADERS, bind, code, escape, gradio_progress, guarded, hit_rows, words_text
from .viewer import motion_plot
from .wordcloud_view import BAR_COLOUR, term_bars

MODES = ["free text", "keywords"]
# a hit whose score comes only from words that are not displayed (engine/vocab.py: stop words, pieces, ...)
NO_SHOWN_WORDS = "(only words that are not shown: stop words, word pieces, punctuation)"
KEYWORD_HINT = ("**Keywords** skip the text encoder: each listed word gets weight 1, `run:2` weighs a word 2, "
                "`-left` excludes motions that show *left* (among their 8 heaviest words, and heavier than "
                "*right*), e.g. `run:2 jump -left`; `-word` works in free text too.")
EXAMPLES = (("a person waves the left hand", "free text"), ("someone jumps", "free text"),
            ("walk:2 circle", "keywords"), ("kick -left", "keywords"))
PLACEHOLDER_DETAILS = "Click a preview (or a row of the table) to watch the hit and see why it was found."
PREVIEW_SIZE = (176, 176)          # rendered skeleton, pixels
PREVIEW_FRAMES = 20                # frames per preview GIF, evenly spread over the clip
BAR_ROWS, BAR_ROW_PX = 4, 15       # the words above each preview
CAPTION_BAND_PX = 44               # white space under it, where the gallery overlays the caption
_preview_lock = threading.Lock()
_frames: "OrderedDict[tuple, list]" = OrderedDict()   # (spec, clip id) -> rendered frames (an LRU)
FRAMES_CACHE = 256
PREVIEW_DIR = Path(tempfile.gettempdir()) / "motionlex-previews"


def summary(result: dict, spec: str) -> str:
    keywords = result["mode"] == "keywords"
    mode = "keywords" if keywords else "free text"
    text = f"{len(result['hits'])} hits for *{escape(result['query'])}* ({mode}) in {code(spec)}."
    if result.get("unknown_words"):
        how = "not searched" if keywords else "the text encoder reads them as word pieces; a -word excludes nothing"
        text += f" Not words of the vocabulary ({how}): {escape(', '.join(result['unknown_words']))}."
    if result.get("forms"):
        formed = ", ".join(f"{w} as {' / '.join(f)}" for w, f in result["forms"].items())
        text += f" Not whole words of the vocabulary, searched in their whole forms: {escape(formed)}."
    if result.get("inflections"):
        other = ", ".join(f"{w} as {' / '.join(f)}" for w, f in result["inflections"].items())
        text += f" Also searched in their other forms: {escape(other)}."
    if result.get("pieces"):
        pieced = ", ".join(f"{w} ({' '.join(p)})" for w, p in result["pieces"].items())
        text += f" Searched on their word pieces: {escape(pieced)}."
    if result.get("inactive_words"):
        text += (" No motion of this library activates (they find nothing): "
                 f"{escape(', '.join(result['inactive_words']))}.")
    if result.get("side_words"):
        shown = sum(bool(h.get("shows_side")) for h in result["hits"])
        text += (f" Names a side ({escape(', '.join(result['side_words']))}): the {shown} hits that show it (it "
                 "outweighs its opposite) come first.")
    if not result["hits"]:
        text += " " + escape(result.get("message") or "No motion of this library shares a term with the query.")
    return text


def hit_details(hit: dict, rank: int) -> str:
    return (f"**#{rank} · {escape(hit['id'])}** · score {hit['score']:.3f}\n\n*{escape(hit['caption'])}*\n\n"
            f"**found because:** {escape(words_text(hit['terms'], 8)) or NO_SHOWN_WORDS}")


# ---- previews: rendered frames per clip (cached), the hit's words drawn under them, one GIF per hit ----------
def clip_frames(engine, spec: str, clip_id: str) -> tuple[list[np.ndarray], float]:
    """The clip's preview frames and the seconds each stands for (rendered once per clip, then cached)."""
    key = (spec, clip_id)
    with _preview_lock:
        if key in _frames:
            _frames.move_to_end(key)
            return _frames[key]
    motion = engine.clip(spec, clip_id)
    picks = np.unique(np.linspace(0, motion.frames - 1, min(PREVIEW_FRAMES, motion.frames)).round().astype(int))
    found = (render.render_frames(motion.joints, motion.fps, size=PREVIEW_SIZE, frames=picks),
             motion.duration_s / max(1, len(picks)))
    with _preview_lock:
        _frames[key] = found
        while len(_frames) > FRAMES_CACHE:
            _frames.popitem(last=False)
    return found


def words_panel(terms: list, width: int) -> np.ndarray:
    """The words that explain a hit as small horizontal bars (heaviest first), an RGB image `width` wide."""
    from PIL import Image, ImageDraw, ImageFont

    rows = list(terms)[:BAR_ROWS]
    img = Image.new("RGB", (width, BAR_ROWS * BAR_ROW_PX + 6), "white")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=11)
    except TypeError:
        font = ImageFont.load_default()
    top = max((float(c) for _, c in rows), default=0.0)
    colour = tuple(int(BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    for i, (word, value) in enumerate(rows):
        y = 3 + i * BAR_ROW_PX
        length = int((width - 74) * (float(value) / top if top > 0 else 0))
        draw.text((4, y + BAR_ROW_PX / 2), str(word)[:10], fill=(40, 40, 40), anchor="lm", font=font)
        draw.rectangle([70, y + 3, 70 + max(1, length), y + BAR_ROW_PX - 3], fill=colour)
    return np.asarray(img)


def preview_gif(engine, spec: str, hit: dict) -> str:
    """A looping GIF of the hit's clip with its explaining words underneath (files are reused per clip+words)."""
    digest = hashlib.sha1(repr((spec, hit["id"], hit["terms"][:BAR_ROWS])).encode()).hexdigest()[:16]
    path = PREVIEW_DIR / f"{digest}.gif"
    if path.is_file():
        return str(path)
    frames, seconds_per_frame = clip_frames(engine, spec, hit["id"])
    panel = words_panel(hit["terms"], PREVIEW_SIZE[0])
    band = np.full((CAPTION_BAND_PX, PREVIEW_SIZE[0], 3), 255, dtype=np.uint8)   # the gallery writes its caption here
    PREVIEW_DIR.mkdir(parents=True, exist_ok=True)
    render_files.save_gif([np.concatenate([panel, f, band], axis=0) for f in frames], path,
                    1.0 / max(seconds_per_frame, 0.05))
    return str(path)


def preview_caption(hit: dict, rank: int) -> str:
    caption = hit["caption"] if len(hit["caption"]) <= 70 else hit["caption"][:67] + "…"
    return f"#{rank} · {hit['score']:.3f} · {caption}"


# ---- handlers --------------------------------------------------------------------------------------------
@guarded("Search failed", 7, 0, clear={1: [], 2: None, 3: [], 4: [], 5: None, 6: PLACEHOLDER_DETAILS})
def run_search(engine, query_value: str, mode_value: str, k_value, spec_value: str, progress=gr.Progress()):
    """-> (status, table rows, query-word bars, hits state, preview gallery (emptied: filled by `previews`),
    viewer (cleared), details (reset))."""
    result = engine.search(query_value, spec_value, keywords=mode_value == "keywords", k=int(k_value),
                           progress=gradio_progress(progress))
    chart = term_bars(result["query_terms"][:15], "query words and their weights") if result["query_terms"] else None
    return (summary(result, spec_value), hit_rows(result["hits"]), chart, result["hits"], [], None,
            PLACEHOLDER_DETAILS)


@guarded("Could not draw the previews", 2, 1, clear={0: []})
def previews(engine, spec_value: str, hits: list, progress=gr.Progress()):
    """-> (gallery items [(gif path, caption)], note): one animated preview per hit."""
    if not hits:
        return [], ""
    items = []
    for rank, hit in enumerate(hits, start=1):
        progress((rank - 1, len(hits)), desc="rendering previews")
        items.append((preview_gif(engine, spec_value, hit), preview_caption(hit, rank)))
    return items, ""


@guarded("Could not show the hit", 2, 1)
def show_hit(engine, spec_value: str, hits: list, rank: int):
    """-> (3D viewer figure, details) of the hit at 1-based `rank`."""
    if not hits or not 1 <= int(rank) <= len(hits):
        return gr.skip(), PLACEHOLDER_DETAILS
    hit = hits[int(rank) - 1]
    motion = engine.clip(spec_value, hit["id"])
    return motion_plot(motion.joints, motion.fps, f"#{rank} {hit['id']} · {hit['caption']}"), hit_details(hit, rank)


def build(engine, demo: gr.Blocks) -> None:
    with gr.Row():
        query = gr.Textbox(label="Query", placeholder="a person raises the left arm", scale=5, elem_id="search-query")
        mode = gr.Radio(MODES, value=MODES[0], label="Mode", scale=2, elem_id="search-mode")
        k = gr.Slider(1, 50, value=10, step=1, label="Hits", scale=2, elem_id="search-k")
        go_button = gr.Button("Search", variant="primary", scale=1, elem_id="search-go")
    with gr.Row():
        spec = gr.Dropdown(engine.datasets(), value=engine.datasets()[0], allow_custom_value=True,
                           label="Library", info="the first search on a library encodes and indexes it",
                           scale=3, elem_id="search-spec")
        with gr.Column(scale=5):
            gr.Markdown(KEYWORD_HINT, elem_classes="ml-hint")
            with gr.Row(elem_id="search-examples"):
                example_buttons = [(gr.Button(q, size="sm", elem_classes="ml-example"), q, m) for q, m in EXAMPLES]
    status = gr.Markdown(elem_id="search-status")
    gallery = gr.Gallery(label="Hits (click one to watch it in 3D)", columns=5, height="auto", object_fit="contain",
                         allow_preview=False, elem_id="search-gallery")
    preview_note = gr.Markdown(elem_id="search-preview-note")
    with gr.Row():
        with gr.Column(scale=6):
            plot = gr.Plot(show_label=False, elem_id="search-plot")
        with gr.Column(scale=4):
            details = gr.Markdown(PLACEHOLDER_DETAILS, elem_id="search-details")
            bars = gr.Plot(show_label=False, elem_id="search-terms")
    gr.Markdown("**All hits**")
    table = gr.Dataframe(headers=HIT_HEADERS, datatype=["number", "str", "number", "str", "str"],
                         interactive=False, wrap=True, max_height=420,
                         column_widths=["5%", "17%", "7%", "43%", "28%"], elem_id="search-table")
    hits_state = gr.State([])

    def on_row(spec_value, hits, evt: gr.SelectData):
        row = getattr(evt, "row_value", None) or [0]
        return show_hit(engine, spec_value, hits, int(row[0] or 0))

    def on_preview(spec_value, hits, evt: gr.SelectData):
        return show_hit(engine, spec_value, hits, int(evt.index) + 1)

    search = bind(run_search, engine)
    draw = bind(previews, engine)
    inputs = [query, mode, k, spec]
    outputs = [status, table, bars, hits_state, gallery, plot, details]
    go_button.click(search, inputs, outputs).then(draw, [spec, hits_state], [gallery, preview_note])
    query.submit(search, inputs, outputs).then(draw, [spec, hits_state], [gallery, preview_note])
    for button, text, how in example_buttons:
        button.click(lambda t=text, h=how: (t, h), None, [query, mode]) \
            .then(search, inputs, outputs).then(draw, [spec, hits_state], [gallery, preview_note])
    table.select(on_row, [spec, hits_state], [plot, details])
    gallery.select(on_preview, [spec, hits_state], [plot, details])
