"""Word weights as pictures: word clouds (PIL images) and horizontal bar charts (plotly)."""
from __future__ import annotations

import plotly.graph_objects as go
from PIL import Image, ImageDraw
from wordcloud import WordCloud

from engine.vocab import is_displayable_word

CLOUD_SIZE = (520, 320)
# The layout is computed at 1/CLOUD_SCALE of the picture and drawn at full size (wordcloud's `scale`): a cloud of
# 60 words took 0.27 s laid out at 520 x 320 and 0.15 s at 260 x 160 drawn x2, which looks the same.
CLOUD_SCALE = 2
BAR_COLOUR = "#1f6fd1"


def word_cloud(terms: dict[str, float] | list, size: tuple[int, int] = CLOUD_SIZE,
               colormap: str = "viridis", empty_text: str = "no words") -> Image.Image:
    """A word cloud sized by the given weights (wordcloud's bundled DejaVu font); a plain card when empty.

    Only displayable words (engine/vocab.py) are drawn: the engine hands out words already, this keeps a
    stray piece or stop word of another caller out of the picture."""
    weights = {str(w): float(v) for w, v in dict(terms).items() if float(v) > 0 and is_displayable_word(str(w))}
    if not weights:
        card = Image.new("RGB", size, "white")
        ImageDraw.Draw(card).text((size[0] // 2, size[1] // 2), empty_text, fill="#888888", anchor="mm")
        return card
    cloud = WordCloud(width=size[0] // CLOUD_SCALE, height=size[1] // CLOUD_SCALE, scale=CLOUD_SCALE,
                      background_color="white", colormap=colormap, prefer_horizontal=0.9, relative_scaling=0.6,
                      min_font_size=10 // CLOUD_SCALE, max_words=60, random_state=0, margin=4 // CLOUD_SCALE)
    return cloud.generate_from_frequencies(weights).to_image()


def term_bars(terms: list | dict, title: str, colour: str = BAR_COLOUR, unit: str = "weight",
              height: int | None = None) -> go.Figure:
    """Horizontal bars, heaviest on top."""
    pairs = list(dict(terms).items()) if isinstance(terms, dict) else [tuple(t) for t in terms]
    pairs = pairs[::-1]  # plotly draws the first bar at the bottom
    fig = go.Figure(go.Bar(x=[round(float(v), 4) for _, v in pairs], y=[str(w) for w, _ in pairs],
                           orientation="h", marker_color=colour,
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
                      height=height or max(220, 60 + 22 * len(pairs)), margin=dict(l=100, r=20, t=45, b=40),
                      paper_bgcolor="white", plot_bgcolor="white", xaxis=dict(title=unit, gridcolor="#eee"),
                      yaxis=dict(tickfont=dict(size=12)))
    return fig


def side_by_side_bars(left: list, right: list, left_title: str, right_title: str, unit: str,
                      colours: tuple[str, str] = ("#7b4fb3", BAR_COLOUR), title: str = "") -> go.Figure:
    """Two horizontal bar charts next to each other (e.g. caption words vs motion words)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=(left_title, right_title), horizontal_spacing=0.18)
    for col, (pairs, colour) in enumerate(((left, colours[0]), (right, colours[1])), start=1):
        pairs = [tuple(p) for p in pairs][::-1]
        fig.add_trace(go.Bar(x=[float(v) for _, v in pairs], y=[str(w) for w, _ in pairs], orientation="h",
                             marker_color=colour, showlegend=False, hovertemplate="%{y}: %{x}<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(title_text=unit, gridcolor="#eee", row=1, col=col)
    rows = max(len(left), len(right), 1)
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)) if title else None,
                      height=max(260, 90 + 20 * rows), margin=dict(l=90, r=20, t=70 if title else 45, b=40),
                      paper_bgcolor="white", plot_bgcolor="white")
    return fig
