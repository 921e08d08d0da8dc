"""Search tab: free-text or keyword queries over a library, ranked hits with the words that found them."""
from __future__ import annotations

import gradio as gr

from .feedback import escape, guarded
from .viewer import motion_plot
from .wordcloud_view import term_bars

MODES = ["free text", "keywords"]
# a hit whose score comes only from words that are not displayed (engine/vocab.py: stop words, pieces, ...)
NO_SHOWN_WORDS = "(only words that are not shown: stop words, word pieces, punctuation)"
TABLE_HEADERS = ["rank", "id", "score", "caption", "found because"]
KEYWORD_HINT = ("**Keywords** skip the text encoder: each listed word gets weight 1, `run:2` weighs a word 2, "
                "`-left` excludes motions that show *left* (among their 8 heaviest words, and heavier than "
                "*right*), e.g. `run:2 jump -left`; `-word` works in free text too.")


def gradio_progress(progress: gr.Progress):
    """engine progress(done, total, stage) -> Gradio's progress bar."""
    return lambda done, total, stage="": progress((done, total), desc=stage)


def words_text(terms: list, n: int = 5) -> str:
    """'left (0.80), raise (0.61)': the words a score is made of, heaviest first."""
    return ", ".join(f"{w} ({c:.2f})" for w, c in list(terms)[:n])


def hit_rows(hits: list[dict]) -> list[list]:
    return [[rank, h["id"], round(h["score"], 3), h["caption"], words_text(h["terms"], 4)]
            for rank, h in enumerate(hits, start=1)]


def summary(result: dict, spec: str) -> str:
    keywords = result["mode"] == "keywords"
    mode = "keywords" if keywords else "free text"
    text = f"{len(result['hits'])} hits for *{escape(result['query'])}* ({mode}) in `{escape(spec)}`."
    if result.get("unknown_words"):
        how = "not searched" if keywords else "the text encoder reads them as word pieces; a -word excludes nothing"
        text += f" Not words of the vocabulary ({how}): {escape(', '.join(result['unknown_words']))}."
    if result.get("pieces"):
        pieced = ", ".join(f"{w} ({' '.join(p)})" for w, p in result["pieces"].items())
        text += f" Searched on their word pieces: {escape(pieced)}."
    if result.get("inactive_words"):
        text += (" No motion of this library activates (they find nothing): "
                 f"{escape(', '.join(result['inactive_words']))}.")
    if not result["hits"]:
        text += " " + escape(result.get("message") or "No motion of this library shares a term with the query.")
    return text


def hit_details(hit: dict, rank: int) -> str:
    return (f"**#{rank} · {escape(hit['id'])}** · score {hit['score']:.3f}\n\n*{escape(hit['caption'])}*\n\n"
            f"**found because:** {escape(words_text(hit['terms'], 8)) or NO_SHOWN_WORDS}")


def build(engine, demo: gr.Blocks) -> None:
    with gr.Row():
        with gr.Column(scale=5):
            query = gr.Textbox(label="Query", placeholder="a person raises the left arm", elem_id="search-query")
            with gr.Row():
                mode = gr.Radio(MODES, value=MODES[0], label="Mode", scale=2, elem_id="search-mode")
                k = gr.Slider(1, 50, value=10, step=1, label="Hits", scale=2, elem_id="search-k")
            gr.Markdown(KEYWORD_HINT, elem_classes="ml-hint")
            with gr.Row():
                spec = gr.Dropdown(engine.datasets(), value=engine.datasets()[0], allow_custom_value=True,
                                   label="Library", info="the first search on a library encodes and indexes it",
                                   scale=4, elem_id="search-spec")
                go = gr.Button("Search", variant="primary", scale=1, elem_id="search-go")
            status = gr.Markdown(elem_id="search-status")
            table = gr.Dataframe(headers=TABLE_HEADERS, datatype=["number", "str", "number", "str", "str"],
                                 interactive=False, wrap=True, max_height=420,
                                 column_widths=["6%", "22%", "9%", "36%", "27%"], elem_id="search-table")
            bars = gr.Plot(show_label=False, elem_id="search-terms")
        with gr.Column(scale=5):
            plot = gr.Plot(show_label=False, elem_id="search-plot")
            details = gr.Markdown("Click a hit to watch it and see why it was found.", elem_id="search-details")
    hits_state = gr.State([])

    @guarded("Search failed", 4, 0)
    def run_search(query_value, mode_value, k_value, spec_value, progress=gr.Progress()):
        result = engine.search(query_value, spec_value, keywords=mode_value == "keywords", k=int(k_value),
                               progress=gradio_progress(progress))
        chart = term_bars(result["query_terms"][:15], "query words and their weights")
        return summary(result, spec_value), hit_rows(result["hits"]), chart, result["hits"]

    @guarded("Could not show the hit", 2, 1)
    def show_hit(spec_value, hits, evt: gr.SelectData):
        rank = int((evt.row_value or [0])[0])
        hit = hits[rank - 1]
        motion = engine.clip(spec_value, hit["id"])
        return motion_plot(motion.joints, motion.fps, f"#{rank} {hit['id']} · {hit['caption']}"), hit_details(hit, rank)

    inputs = [query, mode, k, spec]
    go.click(run_search, inputs, [status, table, bars, hits_state])
    query.submit(run_search, inputs, [status, table, bars, hits_state])
    table.select(show_hit, [spec, hits_state], [plot, details])
