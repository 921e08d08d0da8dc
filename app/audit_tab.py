"""Audit tab: what a dataset's captions say against what its motions show (the seed's dataset audit)."""
from __future__ import annotations

import gradio as gr

from .feedback import bind, code, escape, gradio_progress, guarded, words_text
from .viewer import motion_plot
from .wordcloud_view import side_by_side_bars

TABLE_HEADERS = ["rank", "id", "disagreement", "caption", "motion shows, caption never says", "caption says, motion does not show"]


def terms_figure(report: dict, top: int = 20):
    return side_by_side_bars(report["caption_terms"][:top], report["motion_terms"][:top],
                             "captions: important words", "motions: important words",
                             "% of clips with the word in their top 5",
                             title=f"Important words over {report['clips']} clips")


def usage_figure(report: dict):
    usage = report["usage"]
    return side_by_side_bars(usage["over_used_by_captions"], usage["under_used_by_captions"],
                             "over-used by captions", "under-used by captions", "gap in percentage points",
                             colours=("#c0392b", "#27ae60"), title="Words captions say more / less than motions show")


def base_figure(report: dict, top: int = 20):
    """The seed's Fig. 5b: captions' important words under the text encoder before motion training vs after."""
    base = report.get("base_encoder_caption_terms")
    if not base:
        return None
    return side_by_side_bars(base[:top], report["caption_terms"][:top], "base text encoder (after LexMLM)",
                             "trained model", "% of captions with the word in their top 5", colours=("#95a5a6", "#7b4fb3"),
                             title="Caption words: base encoder vs trained")


def summary_markdown(report: dict) -> str:
    sides, style = report["sides"], report["caption_style"]
    said = sides["captions"]
    forms = ", ".join(f"{escape(k)} {v}" for k, v in style["subject_forms"].items())
    return "\n".join([
        f"#### {report['clips']} clips of {code(str(report.get('dataset', '')))}",
        "**Left / right balance**",
        f"- captions say *left* {said.get('left', 0)}×, *right* {said.get('right', 0)}×, *both* {said.get('both', 0)}×",
        f"- motions activating *left* more than *right*: {sides['motions_left_over_right']}, "
        f"the reverse: {sides['motions_right_over_left']}",
        "",
        "**Caption style**",
        f"- subject forms: {forms}",
        f"- dominant: *{escape(str(style['dominant_form']))}*; captions using another form: {style['inconsistent_share']:.0f}%",
        f"- capitalised: {style['capitalised_share']:.0f}% · ending with a period: {style['ends_with_period_share']:.0f}%",
    ])


def disagreement_rows(report: dict) -> list[list]:
    return [[rank, d["id"], round(d["score"], 3), d["caption"], words_text(d["motion_only"], 5),
             words_text(d["caption_only"], 5)] for rank, d in enumerate(report["disagreements"], start=1)]


def clip_words(row: dict) -> str:
    return (f"**{escape(row['id'])}** · disagreement {row['score']:.2f}\n\n*{escape(row['caption'])}*\n\n"
            f"**The motion shows, the caption never says:** {escape(words_text(row['motion_only'], 8)) or '(none)'}\n\n"
            f"**The caption says, the motion does not show:** {escape(words_text(row['caption_only'], 8)) or '(none)'}")


@guarded("The audit failed", 8, 0, clear={1: None, 2: "", 3: None, 4: gr.update(value=None, visible=False), 5: "",
                                         6: [], 7: None})
def run_audit(engine, spec_value: str, progress=gr.Progress()):
    """-> (status, important-words figure, summary, usage figure, base-encoder figure (hidden when the
    checkpoint has no LexMLM phase to compare with), its note, disagreement rows, report state)."""
    report = engine.audit(spec_value, progress=gradio_progress(progress))
    note = (f"Audited {report['clips']} clips: each caption's and each motion's 5 heaviest words are counted "
            "(words only: stop words such as *a*, *the*, *person*, word pieces and punctuation are skipped); "
            "the table ranks clips by 1 − cosine between motion and caption vectors.")
    base = base_figure(report)
    base_text = "" if base is not None else (f"*Caption words under the base text encoder (the seed's Fig. 5b): not "
                                             f"shown, {escape(report['base_encoder'])}.*")
    return (note, terms_figure(report), summary_markdown(report), usage_figure(report),
            gr.update(value=base, visible=base is not None), base_text, disagreement_rows(report), report)


@guarded("Could not show the clip", 2, 1)
def show_clip(engine, spec_value: str, report, rank: int):
    """-> (viewer, words markdown) of the clip at 1-based `rank` of the disagreement table."""
    if not report or not 1 <= int(rank) <= len(report["disagreements"]):
        return gr.skip(), "Run the audit, then click a clip."
    row = report["disagreements"][int(rank) - 1]
    motion = engine.clip(spec_value, row["id"])
    return motion_plot(motion.joints, motion.fps, f"{row['id']} · {row['caption']}"), clip_words(row)


def build(engine, demo: gr.Blocks) -> None:
    with gr.Row():
        spec = gr.Dropdown(engine.datasets(), value=engine.datasets()[0], allow_custom_value=True, label="Dataset",
                           info="every clip is encoded once (cached beside the checkpoint)", scale=4,
                           elem_id="audit-spec")
        go = gr.Button("Run the audit", variant="primary", scale=1, elem_id="audit-go")
    status = gr.Markdown(elem_id="audit-status")
    with gr.Row():
        with gr.Column(scale=6):
            terms = gr.Plot(show_label=False, elem_id="audit-terms")
        with gr.Column(scale=4):
            summary = gr.Markdown(elem_id="audit-summary")
    usage = gr.Plot(show_label=False, elem_id="audit-usage")
    base = gr.Plot(show_label=False, visible=False, elem_id="audit-base")
    base_note = gr.Markdown(elem_id="audit-base-note")
    gr.Markdown("**Clips whose caption and motion disagree most** (click one to watch it)")
    table = gr.Dataframe(headers=TABLE_HEADERS, datatype=["number", "str", "number", "str", "str", "str"],
                         interactive=False, wrap=True, max_height=400,
                         column_widths=["5%", "16%", "9%", "30%", "20%", "20%"], elem_id="audit-table")
    with gr.Row():
        with gr.Column(scale=6):
            plot = gr.Plot(show_label=False, elem_id="audit-plot")
        with gr.Column(scale=4):
            words = gr.Markdown(elem_id="audit-words")
    report_state = gr.State(None)

    def on_select(spec_value, report, evt: gr.SelectData):
        row = getattr(evt, "row_value", None) or [0]
        return show_clip(engine, spec_value, report, int(row[0] or 0))

    go.click(bind(run_audit, engine), [spec], [status, terms, summary, usage, base, base_note, table, report_state])
    table.select(on_select, [spec, report_state], [plot, words])
